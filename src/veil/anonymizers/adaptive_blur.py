"""Gaussian blur whose strength follows each object's size, fed only by the object's own pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from veil.anonymizers._output import output_for, write_inside
from veil.anonymizers._region_info import regions_of
from veil.detections import Detections
from veil.errors import ConfigError
from veil.regions import RegionCrop
from veil.types import Image, Mask

__all__ = ["AdaptiveBlur", "kernel_radius_px"]

FloatImage = npt.NDArray[np.float32]

# Blur radius = ¼ of the object's mean box side: the object-size-proportional kernel of class-generic
# multi-scale anonymization, so a near face and a far face are hidden alike.
DEFAULT_RADIUS_RATIO = 0.25
# Small objects still get this much blur: a radius proportional to a tiny face is too weak to stop a
# detector finding it again (the smallest floor that did: docs/tuning.md, "Blur strength").
DEFAULT_MIN_RADIUS_PX = 9
# sigma = r (the radius is the Gaussian's standard deviation, as in image editors' "blur radius"), sampled
# over ±3σ: the weakest blur after which the face attacker finds none of the test faces again, also on
# an upscale (tests/integration/test_blur_strength.py; figures: docs/tuning.md, "Blur strength").
DEFAULT_SIGMA_PER_RADIUS = 1.0
# The sampled kernel reaches this many sigmas from its centre (99.7 % of the Gaussian's weight).
_KERNEL_SIGMAS = 3.0
# Above this sigma, blur a downscaled copy (a full-size kernel costs O(sigma) per pixel); the resampling
# only adds blur.
_SIGMA_PER_SCALE_STEP = 4.0


def kernel_radius_px(
    box_w: float,
    box_h: float,
    *,
    radius_ratio: float = DEFAULT_RADIUS_RATIO,
    min_radius_px: int = DEFAULT_MIN_RADIUS_PX,
) -> int:
    """Return the odd blur radius (px) for a ``box_w`` × ``box_h`` object: ratio × mean side, or the floor."""
    mean_side = max(0.0, (float(box_w) + float(box_h)) / 2.0)
    radius = round(mean_side * radius_ratio)
    radius += 1 - radius % 2  # round up to odd: never weaker than asked
    return max(radius, min_radius_px)


@dataclass(frozen=True)
class AdaptiveBlur:
    """Blur each region with a Gaussian scaled to the object, mirroring its own pixels at its border.

    Kernel samples that fall outside the region are taken from the region's pixels mirrored across its
    boundary, so the background does not bleed in and the object's outline does not show through.

    Args:
        radius_ratio: blur radius as a share of the object's mean box side.
        min_radius_px: smallest blur radius, odd.
        sigma_per_radius: Gaussian sigma as a share of the blur radius; the kernel is sampled over ±3 sigma.
    """

    radius_ratio: float = DEFAULT_RADIUS_RATIO
    min_radius_px: int = DEFAULT_MIN_RADIUS_PX
    sigma_per_radius: float = DEFAULT_SIGMA_PER_RADIUS

    def __post_init__(self) -> None:
        if not 0.0 < self.radius_ratio <= 4.0:
            raise ConfigError(f"radius_ratio={self.radius_ratio!r} is out of range (0, 4]")
        if self.min_radius_px < 1 or self.min_radius_px % 2 == 0:
            raise ConfigError(f"min_radius_px={self.min_radius_px!r} must be an odd number ≥ 1")
        if not 0.0 < self.sigma_per_radius <= 4.0:
            raise ConfigError(f"sigma_per_radius={self.sigma_per_radius!r} is out of range (0, 4]")

    def radius_px(self, box_w: float, box_h: float) -> int:
        """Return the blur radius (px) used for a ``box_w`` × ``box_h`` object."""
        return kernel_radius_px(
            box_w, box_h, radius_ratio=self.radius_ratio, min_radius_px=self.min_radius_px
        )

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region blurred; never modify ``image`` unless it is ``out``."""
        result = output_for(image, out)
        for region in regions_of(detections, (result.shape[0], result.shape[1])):
            radius = self.radius_px(region.side_px, region.side_px)
            _blur_region(result, region.crop, radius * self.sigma_per_radius)
        return result


def _blur_region(frame: Image, crop: RegionCrop, sigma: float) -> None:
    """Blur ``crop`` of ``frame`` in place with a Gaussian of ``sigma`` px, writing only inside its mask."""
    height, width = crop.mask.shape
    full = crop.is_full
    step = max(1, int(sigma // _SIGMA_PER_SCALE_STEP))
    small, small_mask = _downscale(frame[crop.slices], crop.mask, step, full)
    small_sigma = sigma / step
    radius = max(1, math.ceil(_KERNEL_SIGMAS * small_sigma))
    padded = _mirror_pad(small, small_mask, radius)
    ksize = 2 * radius + 1
    blurred = cv2.GaussianBlur(padded, (ksize, ksize), small_sigma, borderType=cv2.BORDER_REFLECT_101)
    values = np.clip(np.rint(blurred[radius:-radius, radius:-radius]), 0, 255).astype(np.uint8)
    if step > 1:
        # Each small pixel is the centre of a step×step cell, which is how INTER_LINEAR maps them back.
        size = (values.shape[1] * step, values.shape[0] * step)
        values = np.asarray(cv2.resize(values, size, interpolation=cv2.INTER_LINEAR), np.uint8)
    write_inside(frame, crop, values[:height, :width])


def _downscale(patch: Image, mask: Mask, step: int, full: bool) -> tuple[FloatImage, Mask]:
    """Return ``patch`` averaged over ``step``×``step`` cells and the cells that lie wholly inside ``mask``.

    Cells that straddle the region's border hold background too; leaving them out of the mask lets the
    mirrored fill replace them, so no background bleeds into the blur.
    """
    if step == 1:
        return patch.astype(np.float32), mask
    height, width = mask.shape
    small_h, small_w = -(-height // step), -(-width // step)
    bottom, right = small_h * step - height, small_w * step - width
    # Whole cells let INTER_AREA take its fast integer-factor path; the padding mirrors the region itself.
    padded = cv2.copyMakeBorder(patch, 0, bottom, 0, right, cv2.BORDER_REFLECT_101)
    small = np.asarray(cv2.resize(padded, (small_w, small_h), interpolation=cv2.INTER_AREA), np.float32)
    if full:
        return small, np.ones((small_h, small_w), np.bool_)
    cells = np.pad(mask, ((0, bottom), (0, right))).reshape(small_h, step, small_w, step)
    inner: Mask = np.asarray(cells.all(axis=(1, 3)), np.bool_)
    if inner.any():
        return small, inner
    # No cell lies wholly inside (a region thinner than a cell): average the masked pixels alone.
    weight = cells.sum(axis=(1, 3), dtype=np.float32)
    pixels = np.asarray(padded, np.float32).reshape(small_h, step, small_w, step, 3)
    summed = (pixels * cells[..., None]).sum(axis=(1, 3), dtype=np.float32)
    touched: Mask = weight > 0
    np.divide(summed, weight[:, :, None], out=small, where=touched[:, :, None])
    return small, touched


def _mirror_pad(pixels: FloatImage, mask: Mask, pad: int) -> FloatImage:
    """Return ``pixels`` padded by ``pad`` with every pixel outside ``mask`` mirrored from inside it.

    An outside pixel p takes the value at 2q − p, where q is the nearest masked pixel, when that
    reflection is masked too; otherwise it takes q's value.
    """
    if mask.all():
        return np.asarray(cv2.copyMakeBorder(pixels, pad, pad, pad, pad, cv2.BORDER_REFLECT_101), np.float32)
    inside = np.pad(mask, pad)
    out = np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)))
    # Label every masked pixel individually; each other pixel gets the label of its nearest masked pixel.
    _, labels = cv2.distanceTransformWithLabels(
        (~inside).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5, labelType=cv2.DIST_LABEL_PIXEL
    )
    in_y, in_x = np.nonzero(inside)
    lut_y = np.zeros(int(labels.max()) + 1, np.intp)
    lut_x = np.zeros_like(lut_y)
    in_labels = labels[in_y, in_x]
    lut_y[in_labels] = in_y
    lut_x[in_labels] = in_x
    out_y, out_x = np.nonzero(~inside)
    out_labels = labels[out_y, out_x]
    near_y, near_x = lut_y[out_labels], lut_x[out_labels]
    mirror_y, mirror_x = 2 * near_y - out_y, 2 * near_x - out_x
    rows, cols = inside.shape
    usable = (mirror_y >= 0) & (mirror_y < rows) & (mirror_x >= 0) & (mirror_x < cols)
    usable[usable] = inside[mirror_y[usable], mirror_x[usable]]
    src_y = np.where(usable, mirror_y, near_y)
    src_x = np.where(usable, mirror_x, near_x)
    out[out_y, out_x] = out[src_y, src_x]
    return out
