"""Run a detector on a downscaled copy of large images and map its regions back to full size."""

from __future__ import annotations

import cv2
import numpy as np

from veil.detection.base import Detector
from veil.detection.remap import remap_detections
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image

__all__ = ["ResizedDetector", "downscale", "enlarge"]


def downscale(image: Image, long_side_px: int) -> Image:
    """Return ``image`` shrunk (INTER_AREA) to a long side of ``long_side_px``; itself if not larger."""
    height, width = image.shape[:2]
    long_side = max(height, width)
    if long_side <= long_side_px:
        return image
    ratio = long_side_px / long_side
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    small: Image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    return small


def enlarge(image: Image, long_side_px: int, max_factor: float) -> Image:
    """Return ``image`` grown so its long side nears ``long_side_px``, by ``max_factor`` at most."""
    height, width = image.shape[:2]
    factor = min(long_side_px / max(height, width), max_factor)
    if factor <= 1.0:
        return image
    size = (round(width * factor), round(height * factor))
    big: Image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), np.uint8)
    return big


class ResizedDetector:
    """Run ``inner`` on a copy of the image whose long side is at most ``long_side_px``.

    Boxes, polygons and masks come back in the full image's pixels. Smaller images pass through
    unchanged, unless ``max_enlarge`` > 1: then they are grown towards ``long_side_px`` by at most that
    factor, so a detector with a smallest face size finds the small faces of low-resolution video.
    """

    def __init__(self, inner: Detector, long_side_px: int, *, max_enlarge: float = 1.0) -> None:
        if long_side_px < 16:
            raise ConfigError(f"long_side_px={long_side_px!r} must be >= 16")
        if not 1.0 <= max_enlarge <= 8.0:
            raise ConfigError(f"max_enlarge={max_enlarge!r} is out of range [1, 8]")
        self.classes = inner.classes
        self.inner = inner
        self.long_side_px = long_side_px
        self.max_enlarge = max_enlarge

    def detect(self, image: Image) -> Detections:
        """Return ``inner``'s regions for ``image``, in ``image``'s pixels."""
        small = downscale(image, self.long_side_px)
        if small is image and self.max_enlarge > 1.0:
            small = enlarge(image, self.long_side_px, self.max_enlarge)
        detections = self.inner.detect(small)
        if small is image:
            return detections
        height, width = image.shape[:2]
        scale = (width / small.shape[1], height / small.shape[0])
        return remap_detections(detections, scale_xy=scale, offset_xy=(0.0, 0.0), frame_hw=(height, width))
