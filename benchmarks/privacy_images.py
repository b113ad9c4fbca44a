"""Privacy after ``veil anonymize`` at defaults: can faces be found, or plates read, again?

On the annotated images in ../shared/data (4 dlib / PASCAL VOC images with 18 faces, 50 OpenALPR EU
images with 50 plates) this prints, before and after anonymization:

- faces found again by YuNet (score ≥ 0.5) and CenterFace (≥ 0.4), each at 1× and on a 2× upscale;
  a face counts when a detection has IoU ≥ 0.3 with it (or is a loose box around it);
- plates read by RapidOCR's PP-OCRv4 recognizer on the annotated crop (grown 10 %, at 1× and 2×);
  a plate counts when the normalized reading is within 1 − edits/len ≥ 0.75 of the truth;

and, for every leak, why it leaked according to Veil's own detections (not detected, below threshold,
partly hidden, too weak). ``--deface`` runs deface at its defaults on the faces for comparison.

    python benchmarks/privacy_images.py            # needs VEIL_DATA_DIR / VEIL_MODELS_DIR or ../shared
    python benchmarks/privacy_images.py --deface --keep /tmp/privacy_out

Outputs go to a temporary folder (or ``--keep DIR``); nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from veil.api import anonymize_path
from veil.detections import Detections
from veil.evaluation.datasets import AnnotatedImage, read_dlib_xml, read_openalpr_dir
from veil.evaluation.face_attack import DEFAULT_MIN_SCORES, FaceAttacker, FaceReDetector
from veil.evaluation.leaks import MIN_COVERED, diagnose_leak, hidden_mask
from veil.evaluation.matching import covered_fraction
from veil.evaluation.ocr_attack import PlateReader
from veil.evaluation.privacy import FaceOutcome, PlateOutcome, attack_faces, attack_plates
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.detections_json import read_detections
from veil.pipeline.runner import detections_path

REPO = Path(__file__).resolve().parents[1]
NEAR_MISS_SCORE = 0.05
RUN_CONFIG = PipelineConfig()  # the policy Veil runs with here: the defaults
DEFACE = Path("/work/deface-venv/bin/deface")
FACES = Path("faces") / "dlib_pascal_voc"
PLATES = Path("plates") / "openalpr_eu"


def _default_dir(env: str, name: str) -> Path:
    return Path(os.environ.get(env, REPO.parent / "shared" / name))


def anonymize(src: Path, dst: Path, models_dir: Path) -> float:
    """Run Veil at its default settings on the folder ``src`` into ``dst``; return the seconds taken."""
    started = time.perf_counter()
    config = replace(RUN_CONFIG, models_dir=models_dir)
    report = anonymize_path(src, dst, config, RunOptions(write_detections=True))
    if report.failures:
        raise SystemExit(f"veil failed on {src}: {report.failures}")
    return time.perf_counter() - started


def run_deface(items: Sequence[AnnotatedImage], src: Path, dst: Path, deface: Path) -> None:
    """Run deface at its defaults on each image of ``items`` into the mirror ``dst`` of ``src``."""
    for item in items:
        out = item.rebased(src, dst).image_path
        out.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(deface), str(item.image_path), "-o", str(out)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or not out.is_file():
            raise SystemExit(f"deface failed on {item.image_path}:\n{done.stderr[-2000:]}")


def face_counts(outcomes: Sequence[FaceOutcome]) -> str:
    """Return 'YuNet a, CenterFace b, either c of N'."""
    yunet = sum(o.found_by(FaceAttacker.YUNET) for o in outcomes)
    centerface = sum(o.found_by(FaceAttacker.CENTERFACE) for o in outcomes)
    either = sum(o.found for o in outcomes)
    return f"YuNet {yunet:2d}, CenterFace {centerface:2d}, either {either:2d} of {len(outcomes)}"


def face_line(outcome: FaceOutcome) -> str:
    """Return one line naming a face and the scores that found it."""
    x1, y1, x2, y2 = (int(v) for v in outcome.box_xyxy)
    scores = ", ".join(f"{a.value} {s:.2f}" for a, s in outcome.scores.items() if s > 0)
    return f"{outcome.image_name} face {outcome.index} [{x1},{y1},{x2},{y2}] ({x2 - x1} px): {scores}"


def plate_line(outcome: PlateOutcome) -> str:
    """Return one line naming a plate and what was read."""
    x1, y1, x2, y2 = (int(v) for v in outcome.box_xyxy)
    return (
        f"{outcome.image_name} plate {outcome.truth} [{x1},{y1},{x2},{y2}] ({x2 - x1}×{y2 - y1} px): "
        f"read {outcome.reading.text!r} at {outcome.reading.scale:g}× "
        f"(score {outcome.reading.score:.2f}, similarity {outcome.similarity:.2f})"
    )


def veil_regions(item: AnnotatedImage, src: Path, dst: Path) -> tuple[Detections, tuple[int, int]]:
    """Return the regions Veil's run detected in ``item`` (its detections JSON) and the frame's (H, W)."""
    out = item.rebased(src, dst).image_path
    found = read_detections(detections_path(item.image_path, out))
    frames = found.by_index()
    return frames[min(frames)], (found.height, found.width)


def why(item: AnnotatedImage, src: Path, dst: Path, index: int) -> str:
    """Return why annotation ``index`` of ``item`` leaked, from the detections JSON of Veil's run."""
    detections, frame_hw = veil_regions(item, src, dst)
    return diagnose_leak(item.boxes_xyxy[index], item.label, detections, RUN_CONFIG, frame_hw).describe()


def coverage_line(items: Sequence[AnnotatedImage], src: Path, dst: Path) -> str:
    """Return how many annotated boxes Veil's hidden regions cover (≥ MIN_COVERED), and the least covered."""
    shares: list[tuple[float, str]] = []
    for item in items:
        detections, frame_hw = veil_regions(item, src, dst)
        mask = hidden_mask(detections, RUN_CONFIG, frame_hw)
        for index, box in enumerate(item.boxes_xyxy):
            shares.append((covered_fraction(mask, box), f"{item.image_path.name} #{index}"))
    hidden = sum(share >= MIN_COVERED for share, _ in shares)
    least, where = min(shares)
    return f"boxes ≥ {MIN_COVERED:.0%} hidden: {hidden} of {len(shares)} (least: {least:.0%}, {where})"


def report_faces(
    items: Sequence[AnnotatedImage], src: Path, out: Path, models_dir: Path, deface: Path | None
) -> int:
    """Print the face figures; return the number of faces found again in Veil's output."""
    attack = FaceReDetector(models_dir)
    by_name = {item.image_path.name: item for item in items}
    before = attack_faces(items, attack)
    veil_items = [item.rebased(src, out / "veil") for item in items]
    after = attack_faces(veil_items, attack)
    print(f"  original            {face_counts(before)}")
    print(f"  veil (defaults)     {face_counts(after)}")
    print(f"    {coverage_line(items, src, out / 'veil')}")
    for outcome in (o for o in after if o.found):
        item = by_name[outcome.image_name]
        cause = why(item, src, out / "veil", outcome.index)
        print(f"    LEAK {face_line(outcome)} — {cause}")
    # How far from leaking: the strongest face evidence left, at a threshold no one would use.
    probe = FaceReDetector(models_dir, min_scores=dict.fromkeys(FaceAttacker, NEAR_MISS_SCORE))
    near = attack_faces(veil_items, probe)
    for attacker in FaceAttacker:
        best = max(near, key=lambda o: o.scores[attacker])
        print(
            f"    closest call, {attacker.value}: {best.scores[attacker]:.2f} "
            f"(threshold {DEFAULT_MIN_SCORES[attacker]}) on {best.image_name} face {best.index}"
        )
    missed = [o for o in before if not o.found]
    for outcome in missed:
        print(f"    not found even on the original: {outcome.image_name} face {outcome.index}")
    if deface is not None:
        run_deface(items, src, out / "deface", deface)
        defaced = attack_faces([item.rebased(src, out / "deface") for item in items], attack)
        print(f"  deface (defaults)   {face_counts(defaced)}")
        for outcome in (o for o in defaced if o.found):
            print(f"    leak {face_line(outcome)}")
    return sum(o.found for o in after)


def report_plates(items: Sequence[AnnotatedImage], src: Path, out: Path, reader: PlateReader) -> int:
    """Print the plate figures; return the number of plates read in Veil's output."""
    by_name = {item.image_path.name: item for item in items}
    before = attack_plates(items, reader)
    after = attack_plates([item.rebased(src, out / "veil") for item in items], reader)
    print(f"  original            read {sum(o.read for o in before):2d} of {len(before)}")
    for outcome in (o for o in before if not o.read):
        print(f"    not read even on the original: {plate_line(outcome)}")
    print(f"  veil (defaults)     read {sum(o.read for o in after):2d} of {len(after)}")
    print(f"    {coverage_line(items, src, out / 'veil')}")
    for outcome in (o for o in after if o.read):
        item = by_name[outcome.image_name]
        cause = why(item, src, out / "veil", outcome.index)
        print(f"    LEAK {plate_line(outcome)} — {cause}")
    closest = max(after, key=lambda o: o.similarity)
    print(f"    closest call: {plate_line(closest)}")
    return sum(o.read for o in after)


def main() -> None:
    """Parse arguments, anonymize both sets, attack them and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=_default_dir("VEIL_DATA_DIR", "data"))
    parser.add_argument("--models-dir", type=Path, default=_default_dir("VEIL_MODELS_DIR", "models"))
    parser.add_argument("--deface", action="store_true", help=f"also run deface at its defaults ({DEFACE})")
    parser.add_argument("--deface-bin", type=Path, default=DEFACE, help="the deface executable")
    parser.add_argument("--keep", type=Path, help="write outputs here (kept) instead of a temporary folder")
    args = parser.parse_args()

    faces_src = args.data_dir / FACES
    plates_src = args.data_dir / PLATES
    faces = read_dlib_xml(faces_src / "training.xml")
    plates = read_openalpr_dir(plates_src)
    thresholds = ", ".join(f"{a.value} ≥ {s}" for a, s in DEFAULT_MIN_SCORES.items())

    with tempfile.TemporaryDirectory(prefix="veil-privacy-") as tmp:
        out = args.keep or Path(tmp)
        faces_s = anonymize(faces_src, out / "faces" / "veil", args.models_dir)
        plates_s = anonymize(plates_src, out / "plates" / "veil", args.models_dir)
        print(f"veil anonymize: faces {faces_s:.1f} s ({len(faces)} images), ", end="")
        print(f"plates {plates_s:.1f} s ({len(plates)} images)")

        started = time.perf_counter()
        print(f"\nFaces ({sum(len(i.boxes_xyxy) for i in faces)} annotated; attack: {thresholds}, 1× and 2×)")
        deface = args.deface_bin if args.deface else None
        face_leaks = report_faces(faces, faces_src, out / "faces", args.models_dir, deface)
        print(
            f"\nPlates ({sum(len(i.boxes_xyxy) for i in plates)} annotated; PP-OCRv4 recognizer, 1× and 2×)"
        )
        plate_leaks = report_plates(plates, plates_src, out / "plates", PlateReader())
        print(f"\nattacks took {time.perf_counter() - started:.1f} s")
        if args.keep:
            print(f"outputs kept in {args.keep}")
    verdict = "PASS" if face_leaks == 0 and plate_leaks <= 1 else "FAIL"
    print(f"acceptance (0 faces found, ≤ 1 plate read): {verdict}")
    sys.exit(0 if verdict == "PASS" else 1)


if __name__ == "__main__":
    main()
