"""Merge the persons of a crowd into a few larger regions, so nobody slips between their boxes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.errors import ConfigError
from veil.geometry import scale_boxes
from veil.types import ObjectClass, Origin

__all__ = ["merge_crowds"]


def merge_crowds(detections: Detections, *, crowd_size: int = 10, gap_ratio: float = 0.25) -> Detections:
    """Return ``detections`` with each cluster of nearby persons replaced by one box around it.

    Only applies when more than ``crowd_size`` persons are present: in a crowd the detector misses
    people between the ones it finds, and one large region hides them all. Two persons belong to
    the same cluster when their boxes, each grown by ``gap_ratio`` of its size on every side, touch.
    A cluster's region is the union of its boxes, with the best score of its members, no track id,
    no mask or polygon, and :attr:`Origin.PROPAGATED` if any member was (so its margin is at least
    as wide as any member's). Persons alone, and every other class, are returned unchanged.
    """
    if crowd_size < 0:
        raise ConfigError(f"crowd_size={crowd_size!r} must be at least 0")
    if not 0.0 <= gap_ratio <= 10.0:
        raise ConfigError(f"gap_ratio={gap_ratio!r} is out of range [0, 10]")
    is_person = np.array([label is ObjectClass.PERSON for label in detections.labels], np.bool_)
    persons = np.flatnonzero(is_person)
    if len(persons) <= crowd_size:
        return detections
    clusters = _clusters(scale_boxes(detections.boxes_xyxy[persons], gap_ratio))
    groups = [persons[members] for members in clusters if len(members) > 1]
    if not groups:
        return detections
    merged = np.zeros(len(detections), np.bool_)
    boxes, scores, origins = [], [], []
    for rows in groups:
        merged[rows] = True
        member_boxes = detections.boxes_xyxy[rows]
        boxes.append([*member_boxes[:, :2].min(axis=0), *member_boxes[:, 2:].max(axis=0)])
        scores.append(float(detections.scores[rows].max()))
        propagated = any(detections.origins[r] is Origin.PROPAGATED for r in rows)
        origins.append(Origin.PROPAGATED if propagated else Origin.DETECTED)
    masks = None
    if detections.masks is not None:
        # An empty mask makes the crowd drawn as its box (see veil.regions).
        masks = np.zeros((len(groups), *detections.masks.shape[1:]), np.bool_)
    crowds = Detections.create(
        np.array(boxes, np.float32),
        scores,
        ObjectClass.PERSON,
        masks=masks,
        polygons=[None] * len(groups) if detections.polygons is not None else None,
        track_ids=np.full(len(groups), -1) if detections.track_ids is not None else None,
        origin=origins,
    )
    return Detections.concat([detections[~merged], crowds])


def _clusters(boxes_xyxy: npt.NDArray[np.float32]) -> list[list[int]]:
    """Return the groups of indices whose boxes are linked by chains of overlaps (union-find)."""
    n = len(boxes_xyxy)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    x1, y1, x2, y2 = (boxes_xyxy[:, k] for k in range(4))
    touching = (
        (x1[:, None] <= x2[None, :])
        & (x1[None, :] <= x2[:, None])
        & (y1[:, None] <= y2[None, :])
        & (y1[None, :] <= y2[:, None])
    )
    for i, j in zip(*np.nonzero(np.triu(touching, k=1)), strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())
