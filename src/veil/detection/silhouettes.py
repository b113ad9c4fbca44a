"""Refine person and vehicle boxes to silhouettes with semantic segmentation, failing closed."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Protocol

import cv2
import numpy as np

from veil.detection.base import Detector
from veil.detection.remap import box_masks
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, Mask, ObjectClass

__all__ = ["ClassSegmenter", "SilhouetteDetector"]

_REFINED = frozenset({ObjectClass.PERSON, ObjectClass.VEHICLE})
_DEEPLAB_SIDE_PX = 257  # the segmenter's grid: one cell is max(H, W) / 257 frame pixels


class ClassSegmenter(Protocol):
    """Anything that marks the pixels of some classes in an image (DeepLabSegmenter; fakes in tests)."""

    def masks_for(self, image: Image, classes: Collection[ObjectClass]) -> dict[ObjectClass, Mask]:
        """Return an (H, W) mask for each of ``classes`` it can segment."""
        ...


class SilhouetteDetector:
    """Run ``detector`` and give each person or vehicle region the segmented pixels inside its box.

    A region keeps its full box as mask when the segmenter finds too little of its class inside the box
    (less than ``min_fill_ratio`` of the box): a silhouette never shrinks a region to nothing. Regions of
    other classes get their box as mask. Silhouettes are dilated by ``dilate_px`` (default: one cell of
    DeepLab's 257×257 grid in frame pixels) because the coarse grid loses thin limbs and edges, and holes
    inside them are filled.

    Args:
        detector: any detector; its person/vehicle regions are refined.
        segmenter: run once per image that has a region to refine.
        min_fill_ratio: share of a box the silhouette must cover to replace the box.
        dilate_px: silhouette dilation in pixels; ``None`` picks one DeepLab cell.
    """

    def __init__(
        self,
        detector: Detector,
        segmenter: ClassSegmenter,
        *,
        min_fill_ratio: float = 0.2,
        dilate_px: int | None = None,
    ) -> None:
        if not 0.0 <= min_fill_ratio <= 1.0:
            raise ConfigError(f"min_fill_ratio={min_fill_ratio!r} is out of range [0, 1]")
        if dilate_px is not None and dilate_px < 0:
            raise ConfigError(f"dilate_px={dilate_px!r} must be >= 0")
        self.classes = detector.classes
        self._detector = detector
        self._segmenter = segmenter
        self._min_fill_ratio = min_fill_ratio
        self._dilate_px = dilate_px

    def detect(self, image: Image) -> Detections:
        """Return the inner detector's regions, each with a mask at ``image``'s size."""
        detections = self._detector.detect(image)
        if len(detections) == 0:
            return detections
        frame_hw = (image.shape[0], image.shape[1])
        masks = box_masks(detections.boxes_xyxy, frame_hw)
        wanted = {label for label in detections.labels if label in _REFINED}
        if wanted:
            radius = self._dilate_px
            if radius is None:
                radius = math.ceil(max(frame_hw) / _DEEPLAB_SIDE_PX)
            found = {
                cls: _dilate(mask, radius) for cls, mask in self._segmenter.masks_for(image, wanted).items()
            }
            for i, label in enumerate(detections.labels):
                if label not in found:
                    continue
                silhouette = _fill_holes(masks[i] & found[label])
                area = int(silhouette.sum())
                if area > 0 and area >= self._min_fill_ratio * int(masks[i].sum()):
                    masks[i] = silhouette
        return Detections(
            boxes_xyxy=detections.boxes_xyxy,
            scores=detections.scores,
            labels=detections.labels,
            masks=masks,
            polygons=detections.polygons,
            track_ids=detections.track_ids,
            origins=detections.origins,
        )


def _fill_holes(mask: Mask) -> Mask:
    # Holes inside a silhouette (a car's rear window, a face DeepLab calls background) are hidden too.
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = mask[y0:y1, x0:x1].astype(np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(crop, contours, -1, 1, thickness=cv2.FILLED)
    out = mask.copy()
    out[y0:y1, x0:x1] = crop.astype(bool)
    return out


def _dilate(mask: Mask, radius_px: int) -> Mask:
    if radius_px == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    out: Mask = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    return out
