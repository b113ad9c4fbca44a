"""Rasterize each region of a :class:`Detections` in its own shape, cropped to its bounding box.

Every anonymizer draws regions through this module, so they agree on which pixels a region covers:
a non-empty mask, else a polygon, else an ellipse for faces, else the box. Work stays proportional
to the region's size, not the frame's.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.errors import PrivacyError
from veil.types import Mask, ObjectClass

__all__ = ["RegionCrop", "RegionShape", "region_crop", "shape_of", "union_mask"]

# A face box from a dlib-style detector is tight (brow to chin, cheek to cheek); the ellipse through the
# box's four corners has half-axes of half-side × √2, so the whole box stays covered.
_ELLIPSE_AXIS_FACTOR = math.sqrt(2.0)
# Sub-pixel precision of polygon vertices handed to cv2.fillPoly (fixed point, 2**4 steps per pixel).
_POLY_SHIFT_BITS = 4


class RegionShape(enum.Enum):
    """How a region's pixels are drawn."""

    BOX = "box"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    MASK = "mask"


@dataclass(frozen=True)
class RegionCrop:
    """The pixels of one region: rows ``y0:y1`` and columns ``x0:x1`` of the frame, and where inside them.

    Args:
        y0, y1, x0, x1: crop bounds in frame pixels, clipped to the frame, half-open, never empty.
        mask: (y1 - y0, x1 - x0) bool, True on the region's pixels; at least one is True.
    """

    y0: int
    y1: int
    x0: int
    x1: int
    mask: Mask

    @property
    def slices(self) -> tuple[slice, slice]:
        """Return the ``(rows, columns)`` slices that cut this crop out of a frame."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def is_full(self) -> bool:
        """Return whether the region covers its whole crop (a plain rectangle)."""
        return bool(self.mask.all())


def shape_of(detections: Detections, i: int) -> RegionShape:
    """Return the shape region ``i`` is drawn in."""
    mask = detections.mask(i)
    if mask is not None and mask.any():
        return RegionShape.MASK
    polygon = detections.polygon(i)
    if polygon is not None and len(polygon) >= 3:
        return RegionShape.POLYGON
    if detections.labels[i] is ObjectClass.FACE:
        return RegionShape.ELLIPSE
    return RegionShape.BOX


def region_crop(detections: Detections, i: int, frame_hw: tuple[int, int]) -> RegionCrop | None:
    """Return region ``i`` drawn in a ``frame_hw`` (height, width) frame, or None if it covers no pixel.

    Raises:
        PrivacyError: the region's coordinates are not finite or its mask does not match the frame,
            so which pixels it covers cannot be known.
    """
    height, width = _check_frame(frame_hw)
    shape = shape_of(detections, i)
    if shape is RegionShape.MASK:
        return _mask_crop(detections, i, height, width)
    if shape is RegionShape.POLYGON:
        polygon = detections.polygon(i)
        assert polygon is not None  # shape_of saw it
        return _polygon_crop(np.asarray(polygon, np.float64).reshape(-1, 2), i, height, width)
    box = _finite_box(detections, i)
    if shape is RegionShape.ELLIPSE:
        return _ellipse_crop(box, height, width)
    return _box_crop(box, height, width)


def union_mask(detections: Detections, frame_hw: tuple[int, int]) -> Mask:
    """Return the (H, W) mask of every pixel covered by at least one region."""
    height, width = _check_frame(frame_hw)
    out = np.zeros((height, width), np.bool_)
    for i in range(len(detections)):
        crop = region_crop(detections, i, (height, width))
        if crop is not None:
            out[crop.slices] |= crop.mask
    return out


def _check_frame(frame_hw: tuple[int, int]) -> tuple[int, int]:
    height, width = (int(v) for v in frame_hw)
    if height <= 0 or width <= 0:
        raise ValueError(f"frame_hw={frame_hw!r} must be a positive (height, width)")
    return height, width


def _finite_box(detections: Detections, i: int) -> npt.NDArray[np.float64]:
    box: npt.NDArray[np.float64] = np.asarray(detections.boxes_xyxy[i], np.float64)
    if not np.isfinite(box).all():
        raise PrivacyError(f"region {i} has a non-finite box {box.tolist()}: cannot tell what to hide")
    return box


def _pixel_span(low: float, high: float, limit: int) -> tuple[int, int]:
    """Return the half-open pixel range touched by the interval [low, high), clipped to [0, limit)."""
    start = max(0, math.floor(low))
    stop = min(limit, math.ceil(high))
    return start, stop


def _box_crop(box: npt.NDArray[np.float64], height: int, width: int) -> RegionCrop | None:
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        return None
    x0, x1_ = _pixel_span(x1, x2, width)
    y0, y1_ = _pixel_span(y1, y2, height)
    if x1_ <= x0 or y1_ <= y0:
        return None
    return RegionCrop(y0, y1_, x0, x1_, np.ones((y1_ - y0, x1_ - x0), np.bool_))


def _ellipse_crop(box: npt.NDArray[np.float64], height: int, width: int) -> RegionCrop | None:
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        return None
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ax, ay = (x2 - x1) / 2 * _ELLIPSE_AXIS_FACTOR, (y2 - y1) / 2 * _ELLIPSE_AXIS_FACTOR
    x0, x1_ = _pixel_span(cx - ax, cx + ax, width)
    y0, y1_ = _pixel_span(cy - ay, cy + ay, height)
    if x1_ <= x0 or y1_ <= y0:
        return None
    # Test pixel centres against the ellipse, then add every pixel the box touches, so the box is
    # covered even where its fractional edges fall between pixel centres.
    xs = (np.arange(x0, x1_, dtype=np.float64) + 0.5 - cx) / ax
    ys = (np.arange(y0, y1_, dtype=np.float64) + 0.5 - cy) / ay
    mask: Mask = (ys[:, None] ** 2 + xs[None, :] ** 2) <= 1.0
    bx0, bx1 = _pixel_span(x1, x2, width)
    by0, by1 = _pixel_span(y1, y2, height)
    if bx1 > bx0 and by1 > by0:
        mask[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = True
    if not mask.any():
        return None
    return RegionCrop(y0, y1_, x0, x1_, mask)


def _polygon_crop(polygon: npt.NDArray[np.float64], i: int, height: int, width: int) -> RegionCrop | None:
    if not np.isfinite(polygon).all():
        raise PrivacyError(f"region {i} has a non-finite polygon: cannot tell what to hide")
    x0, x1 = _pixel_span(float(polygon[:, 0].min()), float(polygon[:, 0].max()), width)
    y0, y1 = _pixel_span(float(polygon[:, 1].min()), float(polygon[:, 1].max()), height)
    if x1 <= x0 or y1 <= y0:
        return None
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    # fillPoly takes integer pixel-centre coordinates; continuous x maps to pixel x - 0.5.
    local = (polygon - (x0 + 0.5, y0 + 0.5)) * (1 << _POLY_SHIFT_BITS)
    points = np.round(local).astype(np.int32).reshape(-1, 2)
    cv2.fillPoly(canvas, [points], 1, lineType=cv2.LINE_8, shift=_POLY_SHIFT_BITS)
    mask: Mask = canvas.astype(np.bool_)
    if not mask.any():
        return None
    return RegionCrop(y0, y1, x0, x1, mask)


def _mask_crop(detections: Detections, i: int, height: int, width: int) -> RegionCrop | None:
    full = detections.mask(i)
    assert full is not None  # shape_of saw it
    if full.shape != (height, width):
        raise PrivacyError(
            f"region {i} has a {full.shape[0]}×{full.shape[1]} mask for a {height}×{width} frame: "
            "cannot tell what to hide"
        )
    rows = np.flatnonzero(full.any(axis=1))
    cols = np.flatnonzero(full.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return RegionCrop(y0, y1, x0, x1, full[y0:y1, x0:x1].copy())
