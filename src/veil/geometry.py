"""Box arithmetic shared by detectors, policy, tracking and evaluation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "box_area",
    "clip_boxes",
    "inside_fraction_matrix",
    "intersection_matrix",
    "iou_matrix",
    "nms",
    "scale_boxes",
]

Boxes = npt.NDArray[np.float32]


def box_area(boxes_xyxy: Boxes) -> npt.NDArray[np.float32]:
    """Return the area of each (N, 4) xyxy box; inverted boxes count as 0."""
    w = np.clip(boxes_xyxy[:, 2] - boxes_xyxy[:, 0], 0, None)
    h = np.clip(boxes_xyxy[:, 3] - boxes_xyxy[:, 1], 0, None)
    area: npt.NDArray[np.float32] = (w * h).astype(np.float32)
    return area


def intersection_matrix(a_xyxy: Boxes, b_xyxy: Boxes) -> npt.NDArray[np.float32]:
    """Return the (len(a), len(b)) areas where each box of ``a`` overlaps each box of ``b``."""
    x1 = np.maximum(a_xyxy[:, None, 0], b_xyxy[None, :, 0])
    y1 = np.maximum(a_xyxy[:, None, 1], b_xyxy[None, :, 1])
    x2 = np.minimum(a_xyxy[:, None, 2], b_xyxy[None, :, 2])
    y2 = np.minimum(a_xyxy[:, None, 3], b_xyxy[None, :, 3])
    inter: npt.NDArray[np.float32] = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter.astype(np.float32)


def iou_matrix(a_xyxy: Boxes, b_xyxy: Boxes) -> npt.NDArray[np.float32]:
    """Return the (len(a), len(b)) intersection-over-union matrix."""
    if len(a_xyxy) == 0 or len(b_xyxy) == 0:
        return np.zeros((len(a_xyxy), len(b_xyxy)), np.float32)
    inter = intersection_matrix(a_xyxy, b_xyxy)
    union = box_area(a_xyxy)[:, None] + box_area(b_xyxy)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def inside_fraction_matrix(inner_xyxy: Boxes, outer_xyxy: Boxes) -> npt.NDArray[np.float32]:
    """Return the (len(inner), len(outer)) share of each inner box's area that lies inside each outer box."""
    if len(inner_xyxy) == 0 or len(outer_xyxy) == 0:
        return np.zeros((len(inner_xyxy), len(outer_xyxy)), np.float32)
    inter = intersection_matrix(inner_xyxy, outer_xyxy)
    area = box_area(inner_xyxy)[:, None]
    return np.where(area > 0, inter / np.maximum(area, 1e-9), 0.0).astype(np.float32)


def nms(boxes_xyxy: Boxes, scores: npt.NDArray[np.float32], iou_threshold: float) -> npt.NDArray[np.int64]:
    """Return indices of the boxes kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        best = int(order[0])
        keep.append(best)
        if len(order) == 1:
            break
        overlaps = iou_matrix(boxes_xyxy[best : best + 1], boxes_xyxy[order[1:]])[0]
        order = order[1:][overlaps <= iou_threshold]
    return np.asarray(keep, np.int64)


def clip_boxes(boxes_xyxy: Boxes, width: int, height: int) -> Boxes:
    """Return boxes clipped to a width×height frame."""
    out = boxes_xyxy.astype(np.float32, copy=True)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


def scale_boxes(boxes_xyxy: Boxes, margin_ratio: float, min_margin_px: float = 0.0) -> Boxes:
    """Return boxes grown about their centres by ``margin_ratio`` of their size on every side.

    Each side moves out by at least ``min_margin_px``.
    """
    out = boxes_xyxy.astype(np.float32, copy=True)
    dx = np.maximum((out[:, 2] - out[:, 0]) * margin_ratio, min_margin_px)
    dy = np.maximum((out[:, 3] - out[:, 1]) * margin_ratio, min_margin_px)
    out[:, 0] -= dx
    out[:, 2] += dx
    out[:, 1] -= dy
    out[:, 3] += dy
    return out
