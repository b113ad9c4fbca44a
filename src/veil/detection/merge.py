"""Combine overlapping regions of one class: suppression (keep the best) or merging (keep the union)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.remap import box_masks
from veil.detections import Detections, Polygon
from veil.geometry import iou_matrix, nms

__all__ = ["merge_overlaps", "nms_by_class"]


def nms_by_class(detections: Detections, iou_threshold: float) -> Detections:
    """Return the regions kept by non-maximum suppression run separately for each class, best first."""
    if len(detections) < 2:
        return detections
    keep: list[int] = []
    for cls in _classes_in(detections):
        idx = np.flatnonzero(detections.labels == cls)
        keep.extend(
            int(i) for i in idx[nms(detections.boxes_xyxy[idx], detections.scores[idx], iou_threshold)]
        )
    order = sorted(keep, key=lambda i: -float(detections.scores[i]))
    return detections[np.asarray(order, np.int64)]


def merge_overlaps(detections: Detections, iou_threshold: float) -> Detections:
    """Return one region per group of same-class regions that overlap by more than ``iou_threshold``.

    Groups are transitive (A~B and B~C puts A, B, C together). A group becomes its members' union box with
    their best score; masks are OR-ed (members without a mask contribute their box) and polygons become
    the convex hull of the members' shapes, so a merged region always covers every member. An all-False
    mask means "no silhouette" (as :mod:`veil.regions` reads it), never "hide nothing".
    """
    n = len(detections)
    if n < 2:
        return detections
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for cls in _classes_in(detections):
        idx = np.flatnonzero(detections.labels == cls)
        overlaps = iou_matrix(detections.boxes_xyxy[idx], detections.boxes_xyxy[idx]) > iou_threshold
        rows, cols = np.nonzero(np.triu(overlaps, k=1))
        for r, c in zip(rows, cols, strict=True):
            parent[find(int(idx[r]))] = find(int(idx[c]))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    if len(groups) == n:
        return detections
    return _merge_groups(
        detections, sorted(groups.values(), key=lambda g: -float(detections.scores[g].max()))
    )


def _merge_groups(detections: Detections, groups: list[list[int]]) -> Detections:
    boxes = np.zeros((len(groups), 4), np.float32)
    scores = np.zeros(len(groups), np.float32)
    best_of = np.zeros(len(groups), np.int64)
    polygons: list[Polygon | None] = []
    masks: list[npt.NDArray[np.bool_]] = []
    for g, members in enumerate(groups):
        sel = np.asarray(members, np.int64)
        best = int(sel[np.argmax(detections.scores[sel])])
        best_of[g] = best
        group_boxes = detections.boxes_xyxy[sel]
        boxes[g] = [*group_boxes[:, :2].min(axis=0), *group_boxes[:, 2:].max(axis=0)]
        scores[g] = detections.scores[best]
        polygons.append(_group_polygon(detections, members))
        if detections.masks is not None:
            masks.append(_group_mask(detections, members))
    picked = detections[best_of]
    return Detections(
        boxes_xyxy=boxes,
        scores=scores,
        labels=picked.labels,
        masks=np.stack(masks) if masks else None,
        polygons=tuple(polygons) if detections.polygons is not None else None,
        track_ids=picked.track_ids,
        origins=picked.origins,
    )


def _group_polygon(detections: Detections, members: list[int]) -> Polygon | None:
    if len(members) == 1:
        return detections.polygon(members[0])
    if all(detections.polygon(i) is None for i in members):
        return None
    points: list[npt.NDArray[np.float32]] = []
    for i in members:
        poly = detections.polygon(i)
        if poly is None:
            x1, y1, x2, y2 = detections.boxes_xyxy[i]
            poly = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)
        points.append(np.asarray(poly, np.float32).reshape(-1, 2))
    hull: Polygon = cv2.convexHull(np.concatenate(points)).reshape(-1, 2).astype(np.float32)
    return hull


def _group_mask(detections: Detections, members: list[int]) -> npt.NDArray[np.bool_]:
    assert detections.masks is not None
    frame_hw = (detections.masks.shape[1], detections.masks.shape[2])
    out = np.zeros(frame_hw, bool)
    if not any(detections.masks[i].any() for i in members):
        return out  # no silhouette known: the merged box or polygon is drawn instead
    for i in members:
        mask = detections.masks[i]
        # An empty mask means "no silhouette known": that member contributes its whole box.
        out |= mask if mask.any() else box_masks(detections.boxes_xyxy[i : i + 1], frame_hw)[0]
    return out


def _classes_in(detections: Detections) -> list[object]:
    seen: list[object] = []
    for label in detections.labels:
        if label not in seen:
            seen.append(label)
    return seen
