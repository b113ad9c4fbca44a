"""Clips long enough to be split, and a detector that finds their square, for the batch tests.

The detector is a module-level class so worker processes and Ray actors can load it by name.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from media_matrix import ClipSpec, write_clip
from veil.detections import Detections
from veil.types import Image, ObjectClass

FPS = 25
KEYFRAME_EVERY = 25  # one keyframe a second


def long_clip(folder: Path, name: str = "long.mp4", *, frames: int = 150, audio: bool = True) -> Path:
    """Write a clip of ``frames`` frames at 25 fps with a keyframe every second (and AAC audio)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = ClipSpec(
        name=name,
        frames=frames,
        frame_rate=Fraction(FPS),
        audio_codec="aac" if audio else None,
        options={"g": str(KEYFRAME_EVERY), "keyint_min": str(KEYFRAME_EVERY), "sc_threshold": "0"},
    )
    return write_clip(folder, spec)


class SquareDetector:
    """Find the clip's bright moving square as a face: the same box for the same picture, in any order.

    ``sees_from_x``: find the square only once its left edge is at or right of this column, as a real
    detector blinks; the square crosses the frame every 16 frames (its edge moves 3 px a frame), so
    between sightings only propagation, hold and look-ahead keep it hidden.
    """

    classes = frozenset({ObjectClass.FACE})

    def __init__(self, sees_from_x: int = 0) -> None:
        self.sees_from_x = sees_from_x

    def detect(self, image: Image) -> Detections:
        """Return the box around the pixels brighter than any of the background's."""
        ys, xs = np.nonzero(image.min(axis=2) > 205)
        if len(xs) < 16 or xs.min() < self.sees_from_x:
            return Detections.empty()
        box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
        return Detections.create([box], [0.9], [ObjectClass.FACE])


def boxes_by_frame(path: Path) -> dict[int, list[list[float]]]:
    """Frame index → the boxes a detections JSON lists on it."""
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {f["index"]: [r["box"] for r in f["regions"]] for f in body["frames"]}
