"""Padding shared by detectors that feed an RGB frame to a network."""

from __future__ import annotations

import cv2
import numpy as np

from veil.types import Image

__all__ = ["pad_to_multiple"]


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
