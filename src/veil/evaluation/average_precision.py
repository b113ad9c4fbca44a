"""Average precision of detections against reference boxes, PASCAL VOC style (all-point interpolation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.errors import ConfigError
from veil.geometry import iou_matrix

__all__ = ["AP_IOU", "ImageDetections", "average_precision", "precision_recall"]

AP_IOU = 0.5
"""A detection is a true positive at IoU ≥ 0.5 with an unclaimed reference box (PASCAL VOC's AP50)."""


@dataclass(frozen=True)
class ImageDetections:
    """The reference boxes of one image and the scored detections to grade against them.

    Args:
        truth_xyxy: (M, 4) reference boxes.
        found_xyxy: (N, 4) detected boxes.
        scores: (N,) detection scores.
    """

    truth_xyxy: npt.NDArray[np.float32]
    found_xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        object.__setattr__(self, "truth_xyxy", np.asarray(self.truth_xyxy, np.float32).reshape(-1, 4))
        object.__setattr__(self, "found_xyxy", np.asarray(self.found_xyxy, np.float32).reshape(-1, 4))
        object.__setattr__(self, "scores", np.asarray(self.scores, np.float32).reshape(-1))
        if len(self.scores) != len(self.found_xyxy):
            raise ConfigError(f"{len(self.scores)} scores for {len(self.found_xyxy)} detected boxes")


def precision_recall(
    images: Sequence[ImageDetections], iou_threshold: float = AP_IOU
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return precision and recall after each detection, all images pooled, best score first.

    Each detection claims the unclaimed reference box of its image it overlaps most, if that IoU reaches
    ``iou_threshold``; otherwise (or when that box is already claimed) it is a false positive.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ConfigError(f"iou_threshold={iou_threshold!r} is out of range (0, 1]")
    total_truth = sum(len(image.truth_xyxy) for image in images)
    entries: list[tuple[float, int, int]] = [
        (float(score), image_index, det_index)
        for image_index, image in enumerate(images)
        for det_index, score in enumerate(image.scores)
    ]
    # Ties keep their input order so the result does not depend on the sort's stability.
    entries.sort(key=lambda entry: -entry[0])
    ious = [iou_matrix(image.found_xyxy, image.truth_xyxy) for image in images]
    claimed = [np.zeros(len(image.truth_xyxy), bool) for image in images]
    hits = np.zeros(len(entries), np.float64)
    for rank, (_, image_index, det_index) in enumerate(entries):
        overlaps = ious[image_index][det_index]
        if overlaps.size == 0:
            continue
        best = int(np.argmax(np.where(claimed[image_index], -1.0, overlaps)))
        if not claimed[image_index][best] and overlaps[best] >= iou_threshold:
            claimed[image_index][best] = True
            hits[rank] = 1.0
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(entries) + 1, dtype=np.float64)
    recall = true_positives / total_truth if total_truth else np.zeros(len(entries), np.float64)
    return precision, recall


def average_precision(images: Sequence[ImageDetections], iou_threshold: float = AP_IOU) -> float | None:
    """Return the area under the interpolated precision–recall curve; ``None`` with no reference box.

    Precision at each recall level is the best precision at that recall or higher (VOC 2010+).
    """
    if sum(len(image.truth_xyxy) for image in images) == 0:
        return None
    precision, recall = precision_recall(images, iou_threshold)
    if not len(precision):
        return 0.0
    recall_points = np.concatenate([[0.0], recall, [recall[-1]]])
    precision_points = np.concatenate([[1.0], precision, [0.0]])
    envelope = np.maximum.accumulate(precision_points[::-1])[::-1]
    steps = np.flatnonzero(np.diff(recall_points) > 0)
    return float(np.sum((recall_points[steps + 1] - recall_points[steps]) * envelope[steps + 1]))
