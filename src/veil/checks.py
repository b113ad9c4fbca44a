"""Argument checks every layer shares: a setting's range, the one pixel convention."""

from __future__ import annotations

import numpy as np

from veil.errors import ConfigError, UnsupportedFrameError
from veil.types import Image

__all__ = ["check_range", "require_rgb"]


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ConfigError naming ``name``, ``value`` and the range unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is out of range [{low}, {high}]")


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
