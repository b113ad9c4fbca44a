"""Apply a privacy policy to a frame's detections: keep the regions that count and grow their margins."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from veil.detections import Detections, Polygon
from veil.geometry import clip_boxes, scale_boxes
from veil.pipeline.config import PrivacyPolicy
from veil.types import ObjectClass, Origin

__all__ = ["apply_policy", "select_regions"]

# Regions a tracker or a person vouches for are hidden whatever their (stale or absent) score says.
_KEPT_REGARDLESS_OF_SCORE = frozenset({Origin.PROPAGATED, Origin.REVIEWED})


def apply_policy(
    detections: Detections,
    policy: PrivacyPolicy,
    targets: frozenset[ObjectClass],
    frame_hw: tuple[int, int],
) -> Detections:
    """Return the regions of ``targets`` that pass ``policy``, grown by its margins and clipped to the frame.

    A region is kept when its class is a target and its score reaches the class's threshold; propagated
    and reviewed regions are kept whatever their score. Each kept region grows by ``policy.margin_ratio``
    of its size on every side (``propagated_margin_ratio`` for propagated ones), and by at least
    ``policy.min_margin_px``: boxes about their centre, polygons about their centroid, masks by dilation
    with a kernel proportional to the region's box.
    Polygons are not clipped: cutting vertices to the frame would cut off corners of the region, and
    :mod:`veil.regions` clips when it draws them.

    Args:
        frame_hw: (height, width) of the frame in pixels.
    """
    height, width = (int(v) for v in frame_hw)
    if height <= 0 or width <= 0:
        raise ValueError(f"frame_hw={frame_hw!r} must be a positive (height, width)")
    kept = detections[_selected(detections, policy, targets)]
    if not len(kept):
        return Detections.empty()
    margins = np.array(
        [
            policy.propagated_margin_ratio if origin is Origin.PROPAGATED else policy.margin_ratio
            for origin in kept.origins
        ],
        np.float32,
    )
    min_px = policy.min_margin_px
    boxes = kept.boxes_xyxy.copy()
    for margin in np.unique(margins):
        rows = margins == margin
        boxes[rows] = scale_boxes(kept.boxes_xyxy[rows], float(margin), min_px)
    polygons = None
    if kept.polygons is not None:
        polygons = tuple(
            None if polygon is None else _grow_polygon(polygon, float(margin), min_px)
            for polygon, margin in zip(kept.polygons, margins, strict=True)
        )
    masks = None
    if kept.masks is not None:
        masks = np.stack(
            [
                _grow_mask(mask, box, float(margin), min_px)
                for mask, box, margin in zip(kept.masks, kept.boxes_xyxy, margins, strict=True)
            ]
        )
    return replace(kept, boxes_xyxy=clip_boxes(boxes, width, height), polygons=polygons, masks=masks)


def select_regions(
    detections: Detections, policy: PrivacyPolicy, targets: frozenset[ObjectClass]
) -> Detections:
    """Return the regions ``apply_policy`` would keep, unchanged (no margins): what trackers should follow."""
    return detections[_selected(detections, policy, targets)]


def _selected(
    detections: Detections, policy: PrivacyPolicy, targets: frozenset[ObjectClass]
) -> npt.NDArray[np.bool_]:
    keep = np.zeros(len(detections), np.bool_)
    for i, (label, score, origin) in enumerate(
        zip(detections.labels, detections.scores, detections.origins, strict=True)
    ):
        if label in targets:
            keep[i] = origin in _KEPT_REGARDLESS_OF_SCORE or bool(score >= policy.threshold(label))
    return keep


def _grow_polygon(polygon: Polygon, margin_ratio: float, min_margin_px: float = 0.0) -> Polygon:
    """Scale ``polygon`` about its centroid so that a rectangle grows like its box would.

    The scale is raised until the polygon's narrowest extent (its minimum-area rectangle's short side)
    grows by ``min_margin_px`` on each side; the long side then grows in proportion.
    """
    points = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(points) == 0:
        return np.asarray(polygon, np.float32)
    ratio = margin_ratio
    short = min(cv2.minAreaRect(points.astype(np.float32))[1]) if min_margin_px > 0 else 0.0
    if short > 0:
        ratio = max(ratio, min_margin_px / short)
    grown = _centroid(points) + (points - _centroid(points)) * (1.0 + 2.0 * ratio)
    return grown.astype(np.float32)


def _centroid(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return the area centroid of a simple polygon, or the vertex mean when it has no area."""
    x, y = points[:, 0], points[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area2 = float(cross.sum())
    if abs(area2) < 1e-9:
        return np.asarray(points.mean(axis=0), np.float64)
    moments = np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()], np.float64)
    return np.asarray(moments / (3.0 * area2), np.float64)


def _grow_mask(
    mask: npt.NDArray[np.bool_], box: npt.NDArray[np.float32], margin_ratio: float, min_margin_px: float = 0.0
) -> npt.NDArray[np.bool_]:
    """Dilate ``mask`` by ``margin_ratio`` of the box's width and height (at least ``min_margin_px``).

    Works on the mask's bounding crop.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if (margin_ratio <= 0 and min_margin_px <= 0) or not len(rows):
        return mask.copy()
    cols = np.flatnonzero(mask.any(axis=0))
    # Round up (so the margin is never short), but not float noise such as 0.2 × 10 = 2.0000000000000004.
    rx = math.ceil(max(float(box[2] - box[0]) * margin_ratio, min_margin_px, 0.0) - 1e-6)
    ry = math.ceil(max(float(box[3] - box[1]) * margin_ratio, min_margin_px, 0.0) - 1e-6)
    if rx == 0 and ry == 0:
        return mask.copy()
    height, width = mask.shape
    y0, y1 = max(0, int(rows[0]) - ry), min(height, int(rows[-1]) + 1 + ry)
    x0, x1 = max(0, int(cols[0]) - rx), min(width, int(cols[-1]) + 1 + rx)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rx + 1, 2 * ry + 1))
    crop = mask[y0:y1, x0:x1].astype(np.uint8)
    # Pixels beyond the frame count as background, so the dilation cannot pull anything in from there.
    grown = np.asarray(cv2.dilate(crop, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0))
    out = mask.copy()
    out[y0:y1, x0:x1] = grown.astype(np.bool_)
    return out
