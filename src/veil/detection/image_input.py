"""Checks and padding shared by detectors that feed an RGB frame to a network."""

from __future__ import annotations

import cv2
import numpy as np

from veil.errors import UnsupportedFrameError
from veil.types import Image

__all__ = ["pad_to_multiple", "require_rgb"]


def require_rgb(image: Image) -> tuple[int, int]:
    """Return ``(height, width)`` of an H×W×3 uint8 image; raise UnsupportedFrameError otherwise."""
    shape = getattr(image, "shape", None)
    if shape is None or len(shape) != 3 or shape[2] != 3 or image.dtype != np.uint8:
        dtype = getattr(image, "dtype", type(image).__name__)
        raise UnsupportedFrameError(f"expected an H×W×3 uint8 RGB image, got shape {shape} of {dtype}")
    height, width = int(shape[0]), int(shape[1])
    if height == 0 or width == 0:
        raise UnsupportedFrameError(f"image has zero size ({width}×{height})")
    return height, width


def pad_to_multiple(image: Image, multiple: int) -> Image:
    """Return ``image`` padded with black at the bottom and right to sides divisible by ``multiple``.

    Returns ``image`` itself (not a copy) when it already fits.
    """
    height, width = image.shape[:2]
    pad_h = -height % multiple
    pad_w = -width % multiple
    if pad_h == 0 and pad_w == 0:
        return image
    padded = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return np.asarray(padded, dtype=np.uint8)
