"""Shrink frames to the small grey images that optical flow and motion analysis work on."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.types import Image

__all__ = ["small_grey"]


def small_grey(image: Image, long_side_px: int) -> npt.NDArray[np.uint8]:
    """Return ``image`` (RGB) in grey, shrunk so its long side is at most ``long_side_px``."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    factor = long_side_px / max(height, width)
    if factor >= 1.0:
        return np.asarray(grey, np.uint8)
    size = (max(8, round(width * factor)), max(8, round(height * factor)))
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
