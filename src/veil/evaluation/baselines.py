"""Whole-frame degradations that privacy studies compare region anonymizers against."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType

import cv2
import numpy as np

from veil.errors import UnsupportedFrameError
from veil.types import Image

__all__ = ["GlobalBaseline", "apply_baseline"]

# The four settings the evaluation issue names (issue 4, "global baselines"): a 9×9 Gaussian kernel,
# noise of 7.5 % of the 8-bit range, 8 grey levels per channel, and pixelation to a third of the size.
_BLUR_KERNEL_PX = 9
_NOISE_STD_RATIO = 0.075
_QUANTIZE_LEVELS = 8
_PIXELATE_FACTOR = 3


class GlobalBaseline(enum.Enum):
    """A degradation applied to every pixel of a frame; the value is its name in reports and options."""

    GAUSSIAN_BLUR = "global-blur"
    NOISE = "global-noise"
    QUANTIZE = "global-quantize"
    PIXELATE = "global-pixelate"


def _check(image: Image) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise UnsupportedFrameError(
            f"expected a non-empty H×W×3 uint8 image, got {image.shape} {image.dtype}"
        )


def _gaussian_blur(image: Image, seed: int) -> Image:
    kernel = (_BLUR_KERNEL_PX, _BLUR_KERNEL_PX)
    return np.ascontiguousarray(cv2.GaussianBlur(image, kernel, 0), np.uint8)


def _noise(image: Image, seed: int) -> Image:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, _NOISE_STD_RATIO * 255.0, image.shape)
    return np.clip(image.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)


def _quantize(image: Image, seed: int) -> Image:
    step = 256 // _QUANTIZE_LEVELS
    # Each value goes to the middle of its bin, so the mean brightness is kept.
    return (image // step * step + step // 2).astype(np.uint8)


def _pixelate(image: Image, seed: int) -> Image:
    height, width = image.shape[:2]
    small = (max(1, round(width / _PIXELATE_FACTOR)), max(1, round(height / _PIXELATE_FACTOR)))
    reduced = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(
        cv2.resize(reduced, (width, height), interpolation=cv2.INTER_NEAREST), np.uint8
    )


_APPLY: Mapping[GlobalBaseline, Callable[[Image, int], Image]] = MappingProxyType(
    {
        GlobalBaseline.GAUSSIAN_BLUR: _gaussian_blur,
        GlobalBaseline.NOISE: _noise,
        GlobalBaseline.QUANTIZE: _quantize,
        GlobalBaseline.PIXELATE: _pixelate,
    }
)


def apply_baseline(baseline: GlobalBaseline, image: Image, *, seed: int = 0) -> Image:
    """Return a degraded copy of ``image``; ``seed`` fixes the noise so runs are repeatable."""
    _check(image)
    return _APPLY[baseline](image, seed)
