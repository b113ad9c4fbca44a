"""Evaluate a trained obfuscator end to end: utility for the frozen detector, and three attacks on privacy.

Frames: the part of each training video after its training share (``--share``, 0.7: frames the
obfuscator never saw) for the cameras it was trained on, and a whole clip of a camera it never saw
(``--unseen``). Methods: the originals, the obfuscator, four global degradations (Gaussian blur,
Gaussian noise, colour quantization, pixelation), each set to the strongest of its settings whose
utility on the trained cameras is at least the obfuscator's (so they compare at equal or better
utility), and Veil's detect-then-blur of persons (``--targets person``).

- utility: YOLOX-nano person AP50 on the transformed frames against its own detections (score ≥ 0.3)
  on the originals;
- reconstruction: a fresh de-obfuscator (the training's D architecture), trained after the method is
  fixed on other frames of the training span, then run on the held-out frames: PSNR and SSIM to the
  originals (higher: more was recovered);
- re-identification: person-reidentification-retail-0248, each transformed person crop against the
  original crops of its frame; rank-1 is the share matched to themselves (chance is printed);
- faces: faces YuNet or CenterFace find on an original, found again on the transformed frame.

    python benchmarks/obfuscator_eval.py --model obfuscator.onnx --json eval.json --plot eval.png

Needs the train extra (PyTorch) for the reconstruction attack, and ../shared (VEIL_MODELS_DIR,
VEIL_DATA_DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from veil.api import Pipeline
from veil.detection.yolox import YoloxDetector
from veil.evaluation.average_precision import ImageDetections, average_precision
from veil.evaluation.face_attack import FaceReDetector
from veil.evaluation.image_metrics import ssim_map
from veil.evaluation.reid_attack import PersonEmbedder, chance_rank1, rank1_hits
from veil.models.store import resolve_model
from veil.obfuscation.apply import ObfuscatorModel
from veil.obfuscation.frames import SampledFrame, held_out_frames, training_frames
from veil.obfuscation.network import Deobfuscator
from veil.pipeline.config import DetectionConfig, PipelineConfig
from veil.types import Image, ObjectClass

_REPO = Path(__file__).resolve().parents[1]
_DATA = Path(os.environ.get("VEIL_DATA_DIR", _REPO.parent / "shared" / "data"))
_TRAINED = ("video/vtest_pets_480x360.avi", "video/dashcam_highway_640x360.mp4")
_UNSEEN = "video/MOT20-08-raw_shorter.h264"
_REFERENCE_SCORE = 0.3  # Veil's person threshold: what "the detector found a person" means here
_REID_MIN_HEIGHT_PX = 48  # smaller crops carry too little for the 256×128 re-ID input
_CROP_HW = (160, 256)

Transform = Callable[[Image], Image]


def _blur(sigma: float, image: Image) -> Image:
    return np.ascontiguousarray(cv2.GaussianBlur(image, (0, 0), sigma), np.uint8)


def _noise(std: float, image: Image) -> Image:
    rng = np.random.default_rng(int(image[0, 0, 0]))
    noisy = image.astype(np.float32) + rng.normal(0.0, std * 255.0, image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).round().astype(np.uint8)


def _quantize(levels: int, image: Image) -> Image:
    step = 256 / levels
    return np.clip((np.floor(image / step) + 0.5) * step, 0, 255).astype(np.uint8)


def _pixelate(factor: int, image: Image) -> Image:
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA
    )
    return np.ascontiguousarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST), np.uint8)


# Settings from mild to strong; the strongest that keeps the obfuscator's utility is compared.
_SWEEPS: dict[str, list[tuple[str, Transform]]] = {
    "global-blur": [(f"sigma {s}", partial(_blur, s)) for s in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0)],
    "global-noise": [(f"std {s}", partial(_noise, s)) for s in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)],
    "global-quantize": [(f"{n} levels", partial(_quantize, n)) for n in (16, 8, 6, 4, 3, 2)],
    "global-pixelate": [(f"1/{f}", partial(_pixelate, f)) for f in (2, 3, 4, 6, 8, 12)],
}


@dataclass
class Row:
    method: str
    setting: str
    ap50_trained: float = float("nan")
    ap50_unseen: float = float("nan")
    psnr_attack: float = float("nan")
    ssim_attack: float = float("nan")
    psnr_plain: float = float("nan")
    reid_rank1: float = float("nan")
    faces_refound: float = float("nan")


def _persons(detector: YoloxDetector, image: Image) -> tuple[np.ndarray, np.ndarray]:
    found = detector.detect(image).of_class(ObjectClass.PERSON)
    return found.boxes_xyxy, found.scores


def _ap50(
    detector: YoloxDetector, frames: Sequence[SampledFrame], refs: list[np.ndarray], t: Transform
) -> float:
    graded = []
    for frame, ref in zip(frames, refs, strict=True):
        boxes, scores = _persons(detector, t(frame.image))
        graded.append(ImageDetections(ref, boxes, scores))
    ap = average_precision(graded)
    return float("nan") if ap is None else ap


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _crop_pairs(frames: Sequence[SampledFrame], t: Transform, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    h, w = _CROP_HW
    for frame in frames:
        image = frame.image
        top = int(rng.integers(0, image.shape[0] - h + 1))
        left = int(rng.integers(0, image.shape[1] - w + 1))
        xs.append(image[top : top + h, left : left + w])
        ys.append(t(image)[top : top + h, left : left + w])
    as_tensor = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    return as_tensor(ys), as_tensor(xs)


def _reconstruction_attack(
    attack_frames: Sequence[SampledFrame], test_frames: Sequence[SampledFrame], t: Transform, steps: int
) -> tuple[float, float]:
    """Train a fresh D on (t(X), X) pairs of ``attack_frames``; return PSNR and SSIM on ``test_frames``."""
    torch.manual_seed(0)
    inputs, targets = _crop_pairs(attack_frames, t, seed=1)
    model = Deobfuscator()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-6)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        pick = torch.randint(0, len(inputs), (8,), generator=generator)
        loss = torch.nn.functional.mse_loss(model(inputs[pick]), targets[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    psnrs, ssims = [], []
    with torch.no_grad():
        for frame in test_frames:
            image = frame.image
            h, w = image.shape[:2]
            padded = np.pad(t(image), ((0, -h % 4), (0, -w % 4), (0, 0)), mode="edge")
            x = torch.from_numpy(padded).permute(2, 0, 1)[None].float() / 255
            out = (model(x)[0].permute(1, 2, 0).numpy()[:h, :w] * 255).round().clip(0, 255).astype(np.uint8)
            psnrs.append(_psnr(out, image))
            ssims.append(float(ssim_map(out, image).mean()))
    return float(np.mean(psnrs)), float(np.mean(ssims))


def _reid(
    embedder: PersonEmbedder, frames: Sequence[SampledFrame], refs: list[np.ndarray], t: Transform
) -> tuple[float, float]:
    hits: list[bool] = []
    sizes: list[int] = []
    for frame, ref in zip(frames, refs, strict=True):
        boxes = ref[(ref[:, 3] - ref[:, 1]) >= _REID_MIN_HEIGHT_PX]
        if len(boxes) < 2:
            continue
        gallery = embedder.embed(frame.image, boxes)
        queries = embedder.embed(t(frame.image), boxes)
        hits.extend(rank1_hits(queries, gallery).tolist())
        sizes.append(len(boxes))
    return (float(np.mean(hits)) if hits else float("nan")), chance_rank1(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True, help="the obfuscator ONNX file")
    parser.add_argument("--share", type=float, default=0.7, help="training share of each video")
    parser.add_argument("--frames", type=int, default=24, help="held-out frames per clip")
    parser.add_argument(
        "--attack-frames", type=int, default=48, help="frames per video the fresh D trains on"
    )
    parser.add_argument("--attack-steps", type=int, default=150, help="steps of the fresh D")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    parser.add_argument("--plot", type=Path, help="write the privacy-utility plot here (PNG)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    trained = [
        frame
        for name in _TRAINED
        for frame in held_out_frames(_DATA / name, share=args.share, count=args.frames)
    ]
    unseen = held_out_frames(_DATA / _UNSEEN, share=0.0, count=args.frames)
    # Other frames of the training span than O trained on: offset by half a sampling step.
    attack = training_frames(
        [_DATA / n for n in _TRAINED], per_video=args.attack_frames + 1, share=args.share
    )[1::2]
    config = DetectionConfig()
    detector = YoloxDetector(resolve_model("yolox_nano", None), config, min_score=0.05)
    refs_trained = [
        _persons(detector, f.image)[0][_persons(detector, f.image)[1] >= _REFERENCE_SCORE] for f in trained
    ]
    refs_unseen = [
        _persons(detector, f.image)[0][_persons(detector, f.image)[1] >= _REFERENCE_SCORE] for f in unseen
    ]
    print(
        f"{len(trained)} held-out frames of trained cameras ({sum(map(len, refs_trained))} persons), "
        f"{len(unseen)} of the unseen camera ({sum(map(len, refs_unseen))} persons)",
        flush=True,
    )

    obfuscator = ObfuscatorModel(args.model, config)
    methods: list[tuple[str, str, Transform]] = [
        ("original", "-", lambda im: im),
        ("obfuscator", args.model.name, obfuscator.apply),
    ]
    obf_utility = _ap50(detector, trained, refs_trained, obfuscator.apply)
    sweeps: dict[str, list[tuple[str, float]]] = {}
    for family, settings in _SWEEPS.items():
        chosen = settings[0]
        sweeps[family] = []
        for name, t in settings:
            utility = _ap50(detector, trained, refs_trained, t)
            sweeps[family].append((name, utility))
            if utility >= obf_utility:
                chosen = (name, t)
        methods.append((family, chosen[0], chosen[1]))
        print(
            f"{family}: " + ", ".join(f"{n} AP50 {u:.3f}" for n, u in sweeps[family]) + f" -> {chosen[0]}",
            flush=True,
        )
    with Pipeline(PipelineConfig(targets=frozenset({ObjectClass.PERSON}))) as person_blur:
        methods.append(("veil --targets person", "blur", person_blur.process))

        embedder = PersonEmbedder(None, config)
        faces = FaceReDetector(None, scales=(1.0, 2.0), detection=config)
        face_refs = [(f, faces.find(f.image)) for f in unseen + trained]
        face_refs = [(f, boxes) for f, boxes in face_refs if len(boxes)]
        rows: list[Row] = []
        for method, setting, t in methods:
            row = Row(method, setting)
            row.ap50_trained = _ap50(detector, trained, refs_trained, t)
            row.ap50_unseen = _ap50(detector, unseen, refs_unseen, t)
            row.psnr_plain = float(np.mean([_psnr(t(f.image), f.image) for f in trained + unseen]))
            if method != "original":
                row.psnr_attack, row.ssim_attack = _reconstruction_attack(
                    attack, trained + unseen, t, args.attack_steps
                )
            row.reid_rank1, chance = _reid(embedder, trained + unseen, refs_trained + refs_unseen, t)
            found = [hit for f, boxes in face_refs for hit in faces.refound(t(f.image), boxes)]
            row.faces_refound = float(np.mean(found)) if found else float("nan")
            rows.append(row)
            print(
                f"{method:24s} {setting:14s} AP50 {row.ap50_trained:.3f} / unseen {row.ap50_unseen:.3f}  "
                f"D: PSNR {row.psnr_attack:.2f} SSIM {row.ssim_attack:.3f}  re-ID {row.reid_rank1:.3f}  "
                f"faces {row.faces_refound:.3f}",
                flush=True,
            )
    print(
        f"re-ID chance rank-1 {chance:.3f}; {sum(len(b) for _, b in face_refs)} reference faces; "
        f"{time.perf_counter() - started:.0f} s"
    )
    _table(rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": [r.__dict__ for r in rows],
                    "sweeps": sweeps,
                    "reid_chance": chance,
                    "frames": {"trained": len(trained), "unseen": len(unseen)},
                },
                indent=2,
            )
            + "\n"
        )
    if args.plot:
        _plot(rows, args.plot)


def _table(rows: Sequence[Row]) -> None:
    header = (
        "method",
        "setting",
        "person AP50 held-out",
        "AP50 unseen camera",
        "fresh D PSNR",
        "fresh D SSIM",
        "re-ID rank-1",
        "faces found again",
    )
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = (
            r.method,
            r.setting,
            f"{r.ap50_trained:.3f}",
            f"{r.ap50_unseen:.3f}",
            f"{r.psnr_attack:.2f}",
            f"{r.ssim_attack:.3f}",
            f"{r.reid_rank1:.3f}",
            f"{r.faces_refound:.3f}",
        )
        print("| " + " | ".join(cells) + " |")


def _plot(rows: Sequence[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for r in rows:
        for ax, value in zip(axes, (r.psnr_attack, r.reid_rank1), strict=True):
            ax.scatter(r.ap50_trained, value)
            ax.annotate(r.method, (r.ap50_trained, value), fontsize=8)
    axes[0].set_ylabel("fresh de-obfuscator PSNR (dB, lower is more private)")
    axes[1].set_ylabel("re-ID rank-1 (lower is more private)")
    for ax in axes:
        ax.set_xlabel("person AP50 on held-out frames (utility)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
