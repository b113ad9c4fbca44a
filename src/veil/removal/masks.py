"""Turn a frame's regions into the mask of pixels to remove: select, grow, add shadow margins."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.remap import box_masks
from veil.detections import Detections
from veil.types import Mask, ObjectClass

__all__ = ["boxes_mask", "grow", "in_box", "region_masks", "select_regions", "shadow_margin"]

# A shadow touches its object where the object meets the ground: the bottom share of its box.
_FOOT_RATIO = 0.25


def select_regions(
    detections: Detections,
    targets: frozenset[ObjectClass],
    score_threshold: float,
    track_id: int | None = None,
) -> Detections:
    """Return the regions of ``targets`` scoring at least ``score_threshold`` (and of ``track_id``)."""
    if not len(detections):
        return detections
    keep = np.array([label in targets for label in detections.labels], np.bool_)
    keep &= detections.scores >= score_threshold
    if track_id is not None:
        ids = detections.track_ids
        keep &= np.zeros(len(detections), np.bool_) if ids is None else ids == track_id
    return detections[keep]


def in_box(detections: Detections, box_xyxy: tuple[float, float, float, float]) -> Detections:
    """Return the regions whose box centre lies inside ``box_xyxy``."""
    if not len(detections):
        return detections
    boxes = detections.boxes_xyxy
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    x1, y1, x2, y2 = box_xyxy
    return detections[(cx >= x1) & (cx <= x2) & (cy >= y1) & (cy <= y2)]


def region_masks(
    detections: Detections, frame_hw: tuple[int, int], *, silhouettes: bool = True
) -> npt.NDArray[np.bool_]:
    """Return each region's (N, H, W) mask: its silhouette if ``silhouettes`` and it has one, else its box."""
    boxes = box_masks(detections.boxes_xyxy, frame_hw)
    if detections.masks is None or not silhouettes:
        return boxes
    if detections.masks.shape[1:] != frame_hw:
        raise ValueError(f"region masks are {detections.masks.shape[1:]}, the frame is {frame_hw}")
    has_mask = np.asarray(detections.masks.reshape(len(detections), -1).any(axis=1), np.bool_)
    out: npt.NDArray[np.bool_] = np.where(has_mask[:, None, None], detections.masks, boxes)
    return out


def boxes_mask(boxes_xyxy: npt.NDArray[np.float32], frame_hw: tuple[int, int]) -> Mask:
    """Return the union of ``boxes_xyxy`` as one mask."""
    if not len(boxes_xyxy):
        return np.zeros(frame_hw, np.bool_)
    return np.asarray(box_masks(boxes_xyxy, frame_hw).any(axis=0), np.bool_)


def shadow_margin(masks: npt.NDArray[np.bool_], boxes_xyxy: npt.NDArray[np.float32], ratio: float) -> Mask:
    """Return the pixels around each object's bottom within ``ratio`` of its height (its shadow's reach).

    The margin is twice as wide as it is tall: shadows fall along the ground, not up into the air.
    """
    frame_hw = masks.shape[1:]
    out = np.zeros(frame_hw, np.bool_)
    if ratio <= 0:
        return out
    height, width = frame_hw
    for mask, (x1, y1, x2, y2) in zip(masks, boxes_xyxy, strict=True):
        reach = round(ratio * float(y2 - y1))
        if reach < 1:
            continue
        foot_top = int(max(0, np.floor(y2 - _FOOT_RATIO * (y2 - y1))))
        r0, r1 = max(0, foot_top - reach), min(height, int(np.ceil(y2)) + reach + 1)
        c0, c1 = max(0, int(np.floor(x1)) - 2 * reach), min(width, int(np.ceil(x2)) + 2 * reach + 1)
        if r1 <= r0 or c1 <= c0:
            continue
        foot = np.zeros((r1 - r0, c1 - c0), np.uint8)
        foot[max(0, foot_top - r0) :] = mask[max(r0, foot_top) : r1, c0:c1]
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * reach + 1, 2 * reach + 1))
        out[r0:r1, c0:c1] |= cv2.dilate(foot, kernel) > 0
    return out


def grow(mask: Mask, radius_px: int) -> Mask:
    """Return ``mask`` dilated by ``radius_px`` pixels (a disc)."""
    if radius_px <= 0 or not mask.any():
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    out: Mask = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    return out
