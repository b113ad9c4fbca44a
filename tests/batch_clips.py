"""Clips long enough to be split, and a detector that finds their square, for the batch tests.

The detector is a module-level class so worker processes and Ray actors can load it by name.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from veil.detections import Detections
from veil.types import Image, ObjectClass

FPS = 25
KEYFRAME_EVERY = 25  # one keyframe a second
SAMPLE_RATE = 48000


WIDTH, HEIGHT = 64, 48
SIDE = 16
_BACKGROUND = np.random.default_rng(7).integers(60, 180, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)


def square_frame(index: int) -> Image:
    """Frame ``index``: a still textured background and a bright square moving 3 px a frame."""
    image = _BACKGROUND.copy()
    x = (index * 3) % (WIDTH - SIDE)
    image[10 : 10 + SIDE, x : x + SIDE] = 235
    return image


def long_clip(folder: Path, name: str = "long.mp4", *, frames: int = 150, audio: bool = True) -> Path:
    """Write ``frames`` frames at 25 fps, a keyframe every second, and a 440 Hz AAC track as long."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    time_base = Fraction(1, FPS)
    with av.open(str(path), "w") as out:
        video = out.add_stream(
            "libx264",
            rate=FPS,
            options={"g": str(KEYFRAME_EVERY), "keyint_min": str(KEYFRAME_EVERY), "sc_threshold": "0"},
        )
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.time_base = time_base
        sound = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio else None
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(square_frame(index), format="rgb24")
            frame.pts, frame.time_base = index, time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = frames * SAMPLE_RATE // FPS
            wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / SAMPLE_RATE)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = np.ascontiguousarray(wave[None, start : start + 1024])
                piece = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                piece.sample_rate = SAMPLE_RATE
                piece.pts, piece.time_base = start, Fraction(1, SAMPLE_RATE)
                out.mux(sound.encode(piece))
            out.mux(sound.encode(None))
    return path


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
        ys, xs = np.nonzero(image.min(axis=2) > 215)
        if len(xs) < 16 or xs.min() < self.sees_from_x:
            return Detections.empty()
        box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
        return Detections.create([box], [0.9], [ObjectClass.FACE])


def boxes_by_frame(path: Path) -> dict[int, list[list[float]]]:
    """Frame index → the boxes a detections JSON lists on it."""
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {f["index"]: [r["box"] for r in f["regions"]] for f in body["frames"]}


class DyingDetector(SquareDetector):
    """The square detector, whose process dies (as a killed node's would) on its ``die_at``-th call, once.

    ``marker`` is created when it dies, so the restarted worker lives on.
    """

    def __init__(self, marker: Path, die_at: int = 10) -> None:
        super().__init__()
        self.marker = marker
        self.die_at = die_at
        self.calls = 0

    def detect(self, image: Image) -> Detections:
        """Die once at the ``die_at``-th call of a worker, else find the square."""
        self.calls += 1
        if self.calls == self.die_at:
            try:
                self.marker.touch(exist_ok=False)
            except FileExistsError:
                pass
            else:
                os._exit(9)
        return super().detect(image)
