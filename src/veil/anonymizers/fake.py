"""Anonymizers for tests of other stages: one that paints and records, one that fails on cue."""

from __future__ import annotations

import numpy as np

from veil.anonymizers._output import output_for, write_inside
from veil.detections import Detections
from veil.regions import region_crop
from veil.types import Image

__all__ = ["FailingAnonymizer", "RecordingAnonymizer"]

PAINT_RGB = (255, 0, 255)


class RecordingAnonymizer:
    """Paint every region (in its shape) with ``color_rgb`` and record each call's detections in ``calls``."""

    def __init__(self, color_rgb: tuple[int, int, int] = PAINT_RGB) -> None:
        self.color_rgb = color_rgb
        self.calls: list[Detections] = []

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region painted; record ``detections``."""
        self.calls.append(detections)
        result = output_for(image, out)
        color = np.asarray(self.color_rgb, np.uint8)
        for i in range(len(detections)):
            crop = region_crop(detections, i, (result.shape[0], result.shape[1]))
            if crop is not None:
                write_inside(result, crop, np.broadcast_to(color, (*crop.mask.shape, 3)))
        return result


class FailingAnonymizer:
    """Raise ``error`` on call number ``fail_at`` (0-based) and later; return a plain copy before."""

    def __init__(self, error: Exception, fail_at: int = 0) -> None:
        self._error = error
        self._fail_at = fail_at
        self.calls = 0

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return an unchanged copy of ``image`` until ``fail_at``, then raise."""
        self.calls += 1
        if self.calls > self._fail_at:
            raise self._error
        return output_for(image, out)
