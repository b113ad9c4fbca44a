"""Pixel measures of what anonymization left: detail inside a region, similarity outside the regions."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.errors import UnsupportedFrameError
from veil.types import Image, Mask

__all__ = [
    "SSIM_SIGMA_PX",
    "box_slices",
    "detail_ratio",
    "high_frequency_energy",
    "masked_ssim",
    "ssim_map",
]

SSIM_SIGMA_PX = 1.5
"""Gaussian window of SSIM (Wang et al. 2004, "Image quality assessment: from error visibility to
structural similarity": σ = 1.5 px, K1 = 0.01, K2 = 0.03 on 8-bit grey)."""
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2

# Regions with less high-frequency energy than this (mean squared Laplacian, grey levels²) hold no
# detail to lose: a flat patch stays flat whatever is done to it.
_FLAT_ENERGY = 1.0


def _grey(image: Image) -> npt.NDArray[np.float32]:
    if image.ndim != 3 or image.shape[2] != 3:
        raise UnsupportedFrameError(f"expected an H×W×3 image, got shape {image.shape}")
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def box_slices(box_xyxy: npt.ArrayLike, frame_hw: tuple[int, int]) -> tuple[slice, slice] | None:
    """Return the row and column slices of ``box_xyxy`` grown to whole pixels and clipped to the frame.

    Returns ``None`` when nothing of the box lies inside the frame.
    """
    box = np.asarray(box_xyxy, np.float64).reshape(4)
    height, width = frame_hw
    x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x2 <= x1 or y2 <= y1:
        return None
    return slice(y1, y2), slice(x1, x2)


def high_frequency_energy(image: Image, box_xyxy: npt.ArrayLike) -> float:
    """Return the mean squared 3×3 Laplacian of the grey pixels inside ``box_xyxy`` (0 for an empty box).

    Edges, pores, characters and hair are high-frequency; blur, pixelation and masks remove them.
    """
    where = box_slices(box_xyxy, image.shape[:2])
    if where is None:
        return 0.0
    crop = np.ascontiguousarray(image[where])
    laplacian = cv2.Laplacian(_grey(crop), cv2.CV_32F, ksize=3, borderType=cv2.BORDER_REPLICATE)
    return float(np.mean(np.square(laplacian, dtype=np.float64)))


def detail_ratio(before: Image, after: Image, box_xyxy: npt.ArrayLike) -> float:
    """Return the high-frequency energy left in ``box_xyxy`` after anonymization over that before.

    1.0 means untouched detail, 0.0 none left. A region that was flat before counts as 1.0 when it is
    still flat (nothing was there to hide) and is capped at 1.0 otherwise.
    """
    if before.shape != after.shape:
        raise UnsupportedFrameError(f"image sizes differ: {before.shape} before, {after.shape} after")
    energy_before = high_frequency_energy(before, box_xyxy)
    energy_after = high_frequency_energy(after, box_xyxy)
    if energy_before < _FLAT_ENERGY:
        return 1.0 if energy_after < _FLAT_ENERGY else min(1.0, energy_after / _FLAT_ENERGY)
    return energy_after / energy_before


def ssim_map(a: Image, b: Image) -> npt.NDArray[np.float32]:
    """Return the per-pixel structural similarity of two RGB images of one size, on their grey levels."""
    if a.shape != b.shape:
        raise UnsupportedFrameError(f"image sizes differ: {a.shape} and {b.shape}")
    x, y = _grey(a), _grey(b)

    def smooth(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = cv2.GaussianBlur(values, (0, 0), SSIM_SIGMA_PX, borderType=cv2.BORDER_REFLECT)
        return np.asarray(out, np.float32)

    mu_x, mu_y = smooth(x), smooth(y)
    var_x = smooth(x * x) - mu_x * mu_x
    var_y = smooth(y * y) - mu_y * mu_y
    cov = smooth(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
    denominator = (mu_x * mu_x + mu_y * mu_y + _C1) * (var_x + var_y + _C2)
    result: npt.NDArray[np.float32] = (numerator / denominator).astype(np.float32)
    return result


def masked_ssim(a: Image, b: Image, where: Mask) -> float | None:
    """Return the mean SSIM of ``a`` and ``b`` over the pixels ``where`` marks (``None``: it marks none)."""
    if where.shape != a.shape[:2]:
        raise UnsupportedFrameError(f"mask is {where.shape}, images are {a.shape[:2]}")
    if not where.any():
        return None
    return float(np.mean(ssim_map(a, b)[where], dtype=np.float64))
