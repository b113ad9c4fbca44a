"""Decide which annotated boxes a set of detections found, and how much of a box some regions cover."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from veil.geometry import box_area, inside_fraction_matrix, iou_matrix, scale_boxes

__all__ = [
    "LOOSE_GROW_RATIO",
    "LOOSE_MIN_AREA_RATIO",
    "LOOSE_MIN_INSIDE",
    "MIN_IOU",
    "covered_fraction",
    "match_matrix",
    "matched_scores",
]

Boxes = npt.NDArray[np.float32]

MIN_IOU = 0.3
"""A detection with at least this IoU finds an annotated box (lenient: an attacker needs no tight box)."""

LOOSE_GROW_RATIO = 0.25
"""Annotated boxes grow by this share of their size per side for the containment rule."""

LOOSE_MIN_INSIDE = 0.5
"""Containment rule: at least this share of the detection must lie inside the grown annotated box …"""

LOOSE_MIN_AREA_RATIO = 0.25
"""… and the detection must be at least this share of the annotated box's area (not a stray speck)."""


def match_matrix(truth_xyxy: Boxes, found_xyxy: Boxes) -> npt.NDArray[np.bool_]:
    """Return the (len(truth), len(found)) table of which detection finds which annotated box.

    A detection finds an annotated box when their IoU is at least :data:`MIN_IOU`, or when it is a
    loose box around the same object: at least :data:`LOOSE_MIN_INSIDE` of it lies inside the
    annotated box grown by :data:`LOOSE_GROW_RATIO` per side and it is at least
    :data:`LOOSE_MIN_AREA_RATIO` of the annotated box's area. The second rule keeps tight
    annotations (dlib's brow-to-chin boxes) from hiding a whole-head detection.
    """
    truth = np.asarray(truth_xyxy, np.float32).reshape(-1, 4)
    found = np.asarray(found_xyxy, np.float32).reshape(-1, 4)
    by_iou = iou_matrix(truth, found) >= MIN_IOU
    inside = inside_fraction_matrix(found, scale_boxes(truth, LOOSE_GROW_RATIO)).T >= LOOSE_MIN_INSIDE
    big_enough = box_area(found)[None, :] >= LOOSE_MIN_AREA_RATIO * box_area(truth)[:, None]
    matched: npt.NDArray[np.bool_] = by_iou | (inside & big_enough)
    return matched


def matched_scores(
    truth_xyxy: Boxes, found_xyxy: Boxes, scores: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Return, per annotated box, the best score of a detection that finds it (0 where none does)."""
    table = match_matrix(truth_xyxy, found_xyxy)
    if table.shape[1] == 0:
        return np.zeros(table.shape[0], np.float32)
    weighted = np.where(table, np.asarray(scores, np.float32)[None, :], 0.0)
    best: npt.NDArray[np.float32] = weighted.max(axis=1).astype(np.float32)
    return best


def covered_fraction(mask: npt.NDArray[np.bool_], box_xyxy: npt.ArrayLike) -> float:
    """Return the share of the pixels of ``box_xyxy`` (grown outward to whole pixels) that ``mask`` marks.

    Parts of the box outside the H×W ``mask`` count as uncovered.
    """
    box = np.asarray(box_xyxy, np.float64).reshape(4)
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    height, width = mask.shape[:2]
    inside = mask[max(0, y1) : max(0, min(height, y2)), max(0, x1) : max(0, min(width, x2))]
    return float(np.count_nonzero(inside)) / float((x2 - x1) * (y2 - y1))
