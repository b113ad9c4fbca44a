"""Measure object removal against known background: paste real person cut-outs over real clips, remove them.

Static camera: PETS (vtest_pets_480x360.avi). Moving camera: dashcam_highway_640x360.mp4. Person
cut-outs are YOLOX boxes refined by DeepLab masks, taken from other PETS frames (frames 300-700; the
static composites use frames 0-120 as background), scaled and walked across the background.

Two measures per composite:
- ``oracle``: the filler alone, given the pasted silhouette (dilated) as mask, on decoded frames;
- ``end-to-end``: the composite is encoded, ``remove_dynamic_object`` runs with its own detector and
  the output is decoded (coding loss and detection misses included).
PSNR and SSIM are taken inside the pasted silhouette, leaving out pixels where the background itself
shows a real (removed) pedestrian. Flicker: mean |frame t - frame t-1| inside the filled region (pixels
filled on both frames) against outside it, and the same pixels of the true background.
Speed: ``veil remove`` wall seconds per frame (model loading included) on 60 frames of each clip
upscaled to 1280×720, run as a child process whose peak RSS is the memory figure.

Run (from the repo root)::

    VEIL_MODELS_DIR=../shared/models VEIL_DATA_DIR=../shared/data \\
        .venv/bin/python benchmarks/removal_quality.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from skimage.metrics import structural_similarity

from veil.detection.registry import build_detector
from veil.pipeline.config import PipelineConfig
from veil.removal import RemovalSettings, remove_dynamic_object
from veil.removal.engine import WindowFiller
from veil.types import Frame, ObjectClass
from veil.video.settings import OutputSettings

DATA = Path(os.environ.get("VEIL_DATA_DIR", "../shared/data"))
MODELS = Path(os.environ.get("VEIL_MODELS_DIR", "../shared/models"))
PERSON = frozenset({ObjectClass.PERSON})


def decode(path: Path, start: int, count: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as container:
        for i, f in enumerate(container.decode(video=0)):
            if i < start:
                continue
            if len(out) == count:
                break
            image = f.to_ndarray(format="rgb24")
            if size is not None:
                image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
            out.append(np.ascontiguousarray(image))
    return out


def encode(path: Path, images: list[np.ndarray], fps: int) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "10", "preset": "veryfast"})
        stream.width, stream.height = images[0].shape[1], images[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))


@dataclass
class Cutout:
    rgb: np.ndarray
    alpha: np.ndarray  # bool


def cutouts(count: int = 12) -> list[Cutout]:
    """Return person cut-outs (silhouette crops) from PETS frames 300-700."""
    detector = build_detector(PERSON, PipelineConfig(targets=PERSON, models_dir=MODELS))
    found: list[Cutout] = []
    for image in decode(DATA / "video/vtest_pets_480x360.avi", 300, 400)[::8]:
        regions = detector.detect(image)
        for i in np.argsort(-regions.scores):
            x1, y1, x2, y2 = (round(float(v)) for v in regions.boxes_xyxy[i])
            mask = regions.mask(i)
            if regions.scores[i] < 0.5 or y2 - y1 < 40 or mask is None:
                continue
            alpha = mask[y1:y2, x1:x2]
            if not 0.25 < alpha.mean() < 0.9:
                continue
            found.append(Cutout(image[y1:y2, x1:x2].copy(), alpha.copy()))
            break
        if len(found) == count:
            break
    return found


def composite(
    backgrounds: list[np.ndarray],
    people: list[Cutout],
    scale: float,
    start: tuple[float, float],
    step: tuple[float, float],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Walk scaled cut-outs over the backgrounds; return the composites and the pasted silhouettes."""
    frames, masks = [], []
    height, width = backgrounds[0].shape[:2]
    for t, bg in enumerate(backgrounds):
        person = people[(t // 4) % len(people)]
        rgb = cv2.resize(person.rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        alpha = (
            cv2.resize(
                person.alpha.astype(np.uint8), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST
            )
            > 0
        )
        x0, y0 = int(start[0] + step[0] * t), int(start[1] + step[1] * t)
        h, w = alpha.shape
        x1, y1 = min(width, x0 + w), min(height, y0 + h)
        image, mask = bg.copy(), np.zeros((height, width), bool)
        a = alpha[: y1 - y0, : x1 - x0]
        image[y0:y1, x0:x1][a] = rgb[: y1 - y0, : x1 - x0][a]
        mask[y0:y1, x0:x1] = a
        frames.append(image)
        masks.append(mask)
    return frames, masks


def real_people(backgrounds: list[np.ndarray]) -> list[np.ndarray]:
    """Return masks of the pedestrians already in the background (grown boxes): left out of the scores."""
    detector = build_detector(PERSON, PipelineConfig(targets=PERSON, models_dir=MODELS))
    out = []
    for bg in backgrounds:
        mask = np.zeros(bg.shape[:2], bool)
        for x1, y1, x2, y2 in detector.detect(bg).boxes_xyxy:
            mask[max(0, int(y1) - 6) : int(y2) + 6, max(0, int(x1) - 6) : int(x2) + 6] = True
        out.append(mask)
    return out


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def scores(
    outputs: list[np.ndarray], truths: list[np.ndarray], pasted: list[np.ndarray], skip: list[np.ndarray]
) -> dict[str, float]:
    psnrs, ssims, flick_in, flick_out, truth_in = [], [], [], [], []
    for t, (out, gt, m, s) in enumerate(zip(outputs, truths, pasted, skip, strict=True)):
        where = m & ~s
        if where.sum() < 50:
            continue
        d = out[where].astype(float) - gt[where].astype(float)
        psnrs.append(10 * np.log10(255**2 / max((d**2).mean(), 1e-9)))
        _, smap = structural_similarity(gt, out, channel_axis=2, full=True, data_range=255)
        ssims.append(float(smap[where].mean()))
        if t:
            filled = grow(m, 3) & grow(pasted[t - 1], 3) & ~s & ~skip[t - 1]
            rest = ~grow(m, 3) & ~grow(pasted[t - 1], 3) & ~s & ~skip[t - 1]
            if filled.sum() > 50:
                diff = np.abs(out.astype(float) - outputs[t - 1].astype(float)).mean(axis=2)
                gdiff = np.abs(gt.astype(float) - truths[t - 1].astype(float)).mean(axis=2)
                flick_in.append(diff[filled].mean())
                flick_out.append(diff[rest].mean())
                truth_in.append(gdiff[filled].mean())
    return {
        "psnr_db": round(float(np.mean(psnrs)), 2),
        "psnr_db_p10": round(float(np.percentile(psnrs, 10)), 2),
        "ssim": round(float(np.mean(ssims)), 3),
        "flicker_inside": round(float(np.mean(flick_in)), 2),
        "flicker_outside": round(float(np.mean(flick_out)), 2),
        "flicker_truth_inside": round(float(np.mean(truth_in)), 2),
        "frames": len(psnrs),
    }


def oracle(frames: list[np.ndarray], pasted: list[np.ndarray], extra: list[np.ndarray]) -> list[np.ndarray]:
    filler = WindowFiller(window_radius=15)
    done = []
    for t, (image, m, e) in enumerate(zip(frames, pasted, extra, strict=True)):
        done += filler.push(Frame(image=image, index=t), grow(m, 3) | e)
    done += filler.flush()
    return [d.image for d in done]


def end_to_end(frames: list[np.ndarray], fps: int, work: Path, name: str) -> tuple[list[np.ndarray], float]:
    src, dst = work / f"{name}.mp4", work / f"{name}.clean.mp4"
    encode(src, frames, fps)
    report = remove_dynamic_object(
        src, dst, RemovalSettings(targets=PERSON, models_dir=MODELS, output=OutputSettings(encoder=_crf10()))
    )
    return decode(dst, 0, len(frames)), report.elapsed_s / report.frames_written


def _crf10():  # type: ignore[no-untyped-def]
    from veil.pipeline.config import EncoderConfig

    return EncoderConfig(crf=10)


def main() -> None:
    people = cutouts()
    results: dict[str, object] = {"cutouts": len(people)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Static camera: PETS frames 0-119, a person 1.5x walking along the road.
        bg = decode(DATA / "video/vtest_pets_480x360.avi", 0, 120)
        comp, pasted = composite(bg, people, 1.5, (20, 200), (3.0, -0.4))
        skip = real_people(bg)
        results["static_oracle"] = scores(oracle(comp, pasted, skip), bg, pasted, skip)
        out, _ = end_to_end(comp, 10, work, "static")
        results["static_end_to_end"] = scores(out, bg, pasted, skip)
        # Moving camera: dashcam frames 30-149, a person 2x crossing the picture.
        bg = decode(DATA / "video/dashcam_highway_640x360.mp4", 30, 120)
        comp, pasted = composite(bg, people, 2.0, (20, 180), (4.5, -0.3))
        none = [np.zeros(b.shape[:2], bool) for b in bg]
        results["moving_oracle"] = scores(oracle(comp, pasted, none), bg, pasted, none)
        out, _ = end_to_end(comp, 30, work, "moving")
        results["moving_end_to_end"] = scores(out, bg, pasted, none)
        # Speed at 720p, end to end (decode, YOLOX, masks, fill, encode).
        for name, path, fps in (
            ("static_720p", "vtest_pets_480x360.avi", 10),
            ("moving_720p", "dashcam_highway_640x360.mp4", 30),
        ):
            frames = decode(DATA / "video" / path, 0, 60, size=(1280, 720))
            if name == "moving_720p":
                frames, _ = composite(frames, people, 4.0, (40, 380), (9.0, -0.6))
            src, dst = work / f"{name}.mp4", work / f"{name}.clean.mp4"
            encode(src, frames, fps)
            del frames
            # The veil command in a child process, so its peak memory is the removal's own.
            command = [str(Path(sys.executable).parent / "veil"), "remove", str(src), "-o", str(dst)]
            command += ["--targets", "person", "--models-dir", str(MODELS)]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            elapsed = time.perf_counter() - started
            report = json.loads(done.stderr.strip().splitlines()[-1])
            results[f"{name}_s_per_frame"] = round(elapsed / report["frames_written"], 3)
            results[f"{name}_fill"] = report["fill"] | {"moving_frames": report["moving_frames"]}
            results[f"{name}_peak_rss_mib"] = round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
            )
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
