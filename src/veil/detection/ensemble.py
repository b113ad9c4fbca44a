"""Run several detectors on one image and merge what they find, so one object gives one region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from veil.detection.base import Detector
from veil.detection.merge import merge_overlaps
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, ObjectClass

__all__ = ["EnsembleDetector"]


class EnsembleDetector:
    """Run every detector, drop regions below their class's threshold, and merge same-class overlaps.

    Overlapping regions of one class (IoU above ``iou_merge``) become one region: their union box and
    their best score, so combining a high-recall and a precise detector costs no duplicate regions.

    Args:
        detectors: run in order on each image.
        thresholds: minimum score per class; classes not listed keep every region.
        iou_merge: same-class regions overlapping more than this are merged.
    """

    def __init__(
        self,
        detectors: Sequence[Detector],
        thresholds: Mapping[ObjectClass, float],
        iou_merge: float = 0.5,
    ) -> None:
        if not detectors:
            raise ConfigError("EnsembleDetector needs at least one detector")
        if not 0.0 <= iou_merge <= 1.0:
            raise ConfigError(f"iou_merge={iou_merge!r} is out of range [0, 1]")
        self.classes: frozenset[ObjectClass] = frozenset().union(*(d.classes for d in detectors))
        self._detectors = tuple(detectors)
        self._thresholds = dict(thresholds)
        self._iou_merge = iou_merge

    def detect(self, image: Image) -> Detections:
        """Return the merged regions all detectors found in ``image``."""
        frame_hw = (image.shape[0], image.shape[1])
        parts = [self._above_threshold(d.detect(image)) for d in self._detectors]
        return merge_overlaps(Detections.concat(parts, frame_shape=frame_hw), self._iou_merge)

    def _above_threshold(self, detections: Detections) -> Detections:
        if not self._thresholds or len(detections) == 0:
            return detections
        minimum = np.array([self._thresholds.get(label, 0.0) for label in detections.labels], np.float32)
        return detections[detections.scores >= minimum]
