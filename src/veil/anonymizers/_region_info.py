"""What the region methods share: object size, per-track seeds, a coarse copy, the change guarantee."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import NamedTuple

import cv2
import numpy as np

from veil.detections import Detections
from veil.regions import RegionCrop, region_crop
from veil.types import Image, Mask

__all__ = [
    "MAX_CELL_PX",
    "Region",
    "coarse_patch",
    "ensure_changed",
    "object_side_px",
    "region_digest",
    "region_identity",
    "regions_of",
]

MAX_CELL_PX = 4096
"""The largest cell floor a method accepts: a cell wider than any frame side would average it all."""


class Region(NamedTuple):
    """One region of a frame as the methods see it: its row, its pixels and the object's size."""

    row: int
    crop: RegionCrop
    side_px: float


def regions_of(detections: Detections, frame_hw: tuple[int, int]) -> Iterator[Region]:
    """Yield every region of ``detections`` that has pixels in a ``frame_hw`` frame, in row order."""
    for i in range(len(detections)):
        crop = region_crop(detections, i, frame_hw)
        if crop is not None:
            yield Region(i, crop, object_side_px(detections, i, crop))


def object_side_px(detections: Detections, i: int, crop: RegionCrop) -> float:
    """Return the mean side (px) of region ``i``'s box, or of its crop when the box is degenerate (masks)."""
    x1, y1, x2, y2 = (float(v) for v in detections.boxes_xyxy[i])
    if x2 <= x1 or y2 <= y1:
        x1, y1, x2, y2 = crop.x0, crop.y0, crop.x1, crop.y1
    return max(1.0, ((x2 - x1) + (y2 - y1)) / 2.0)


def region_identity(detections: Detections, i: int) -> bytes:
    """Return what names region ``i`` across frames: its track id, else its class and row (still images)."""
    label = detections.labels[i].value
    if detections.track_ids is not None and int(detections.track_ids[i]) >= 0:
        return f"track:{label}:{int(detections.track_ids[i])}".encode()
    return f"row:{label}:{i}".encode()


def region_digest(secret: bytes, purpose: bytes, detections: Detections, i: int) -> bytes:
    """Return 32 bytes keyed by ``secret`` that stay the same for one track in every frame.

    ``purpose`` separates the methods, so one key gives unrelated values to the token colour and the
    warp field of the same track.
    """
    return hmac.new(secret, purpose + b"\0" + region_identity(detections, i), hashlib.sha256).digest()


def coarse_patch(patch: Image, cell_px: float) -> Image:
    """Return ``patch`` averaged over cells of about ``cell_px`` and enlarged smoothly back to its size.

    This is the strength floor of the stylizing methods: detail finer than a cell (eyes, characters) is
    gone before any style is drawn, so the style cannot bring it back.
    """
    height, width = patch.shape[:2]
    small = (max(1, round(width / cell_px)), max(1, round(height / cell_px)))
    reduced = cv2.resize(patch, small, interpolation=cv2.INTER_AREA)
    # Bilinear, not cubic: cubic overshoot draws a ring at every cell edge, which reads as structure.
    return np.ascontiguousarray(
        cv2.resize(reduced, (width, height), interpolation=cv2.INTER_LINEAR), np.uint8
    )


def ensure_changed(values: Image, original: Image, mask: Mask) -> None:
    """Flip the low bit of green wherever ``values`` equals ``original`` inside ``mask``, in place.

    A stylized pixel can equal its source by chance (a flat wall under false colour); Veil promises that
    every pixel of a region differs after anonymization, so such pixels are nudged by one level.
    """
    same = (values == original).all(axis=2) & mask
    if same.any():
        values[same, 1] ^= 1
