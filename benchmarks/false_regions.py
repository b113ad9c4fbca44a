"""Regions Veil hides without cause: footage that does not show the class, per privacy level.

Faces on the shared highway dashcam clip (no pedestrian is in view: every face region is false), and
plates on MOT20-08 (a pedestrian street with no vehicle: its plate regions are the burned-in frame
counter and "MOT20-08: RAW" caption, café signs and banners). From each run's detections JSON:
regions per 1,000 frames (a region on each of two frames counts twice) and the share of the frame area
hidden for that class (regions grown by the level's margins, as the anonymizer draws them), mean over
frames.

    python benchmarks/false_regions.py                 # both clips, all levels
    python benchmarks/false_regions.py --reuse         # read the runs plate_leaks.py already made
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from _clip_runs import BENCH_OUT, run_veil

from veil.evaluation.leaks import hidden_mask
from veil.pipeline.choices import UserChoices
from veil.pipeline.detections_json import read_detections
from veil.pipeline.privacy_level import PrivacyLevel
from veil.types import ObjectClass

RUNS = BENCH_OUT / "runs"
# clip → the class it does not show
ABSENT = {"dashcam": ObjectClass.FACE, "mot20": ObjectClass.LICENSE_PLATE}


@dataclass(frozen=True)
class Row:
    clip: str
    label: ObjectClass
    level: str
    frames: int
    regions: int
    frames_with_regions: int
    area_share: float

    @property
    def per_1000_frames(self) -> float:
        return 1000.0 * self.regions / self.frames if self.frames else 0.0


def measure(clip: str, label: ObjectClass, level: str, detections_json: Path) -> Row:
    """Count the ``label`` regions of one run and the share of frame area they hide."""
    found = read_detections(detections_json)
    config = UserChoices(targets=label.value, privacy=PrivacyLevel(level)).to_config()
    frame_hw = (found.height, found.width)
    regions = with_regions = 0
    area = 0.0
    for frame in found.frames:
        of_class = frame.detections.of_class(label)
        regions += len(of_class)
        with_regions += bool(len(of_class))
        if len(of_class):
            area += float(hidden_mask(of_class, config, frame_hw).mean())
    frames = len(found.frames)
    return Row(clip, label, level, frames, regions, with_regions, area / frames if frames else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", default=",".join(ABSENT), help=f"comma-separated of {', '.join(ABSENT)}")
    parser.add_argument("--levels", default=",".join(level.value for level in PrivacyLevel))
    parser.add_argument("--reuse", action="store_true", help="read runs already made where present")
    parser.add_argument("--runs", type=Path, default=RUNS, help=f"where outputs go (default {RUNS})")
    args = parser.parse_args()
    rows = []
    for clip in args.clips.split(","):
        for level in args.levels.split(","):
            run = run_veil(clip, level, args.runs, reuse=args.reuse)
            assert run.detections is not None
            rows.append(measure(clip, ABSENT[clip], level, run.detections))
            print(f"  {clip} {level}: {rows[-1].regions} {ABSENT[clip].value} regions", flush=True)
    print(
        f"\n{'clip':<9}{'class':<15}{'level':<11}{'frames':>7}{'regions':>9}{'per 1k frames':>15}"
        f"{'frames hit':>12}{'area hidden':>13}"
    )
    for row in rows:
        print(
            f"{row.clip:<9}{row.label.value:<15}{row.level:<11}{row.frames:>7}{row.regions:>9}"
            f"{row.per_1000_frames:>15.0f}{row.frames_with_regions:>12}{row.area_share:>13.2%}"
        )


if __name__ == "__main__":
    main()
