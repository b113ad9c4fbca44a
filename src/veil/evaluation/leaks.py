"""Explain why an annotated object leaked: undetected, below threshold, partly or too weakly hidden."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.evaluation.matching import covered_fraction, match_matrix
from veil.pipeline.config import PipelineConfig
from veil.pipeline.policy import apply_policy
from veil.regions import union_mask
from veil.types import Mask, ObjectClass

__all__ = ["MIN_COVERED", "LeakCause", "LeakDiagnosis", "diagnose_leak", "hidden_mask"]

MIN_COVERED = 0.9
"""An annotated box counts as hidden when at least this share of its pixels was anonymized
(the data README's rule for tight dlib face boxes)."""


class LeakCause(enum.Enum):
    """Why an object that should have been hidden could still be found or read."""

    NOT_DETECTED = "not detected"  # no region of its class matches it at all
    BELOW_THRESHOLD = "below threshold"  # a matching region scored under the policy's threshold
    PARTLY_HIDDEN = "partly hidden"  # hidden regions cover less than MIN_COVERED of the box
    TOO_WEAK = "too weak"  # covered, yet the attack still succeeds: the anonymization is too mild


@dataclass(frozen=True)
class LeakDiagnosis:
    """The cause of one leak and the facts behind it.

    Args:
        cause: the first failing step, in pipeline order.
        covered: share of the annotated box's pixels inside hidden regions.
        best_score: best score of a same-class detection matching the box (0.0: none).
    """

    cause: LeakCause
    covered: float
    best_score: float

    def describe(self) -> str:
        """Return one line for people."""
        return f"{self.cause.value} ({self.covered:.0%} hidden, best matching score {self.best_score:.2f})"


def hidden_mask(detections: Detections, config: PipelineConfig, frame_hw: tuple[int, int]) -> Mask:
    """Return the pixels a run with ``config`` hides, given the frame's detections before the policy."""
    selected = apply_policy(detections, config.policy, config.targets, frame_hw)
    return union_mask(selected, frame_hw)


def diagnose_leak(
    box_xyxy: npt.ArrayLike,
    label: ObjectClass,
    detections: Detections,
    config: PipelineConfig,
    frame_hw: tuple[int, int],
) -> LeakDiagnosis:
    """Return why the annotated ``box_xyxy`` of class ``label`` leaked, from the run's own detections.

    Args:
        detections: the regions the run detected in the frame, before the policy (its detections JSON).
        frame_hw: (height, width) of the frame.
    """
    box = np.asarray(box_xyxy, np.float32).reshape(1, 4)
    same_class = detections.of_class(label)
    matches = match_matrix(box, same_class.boxes_xyxy)[0]
    best_score = float(same_class.scores[matches].max()) if matches.any() else 0.0
    covered = covered_fraction(hidden_mask(detections, config, frame_hw), box[0])
    if covered >= MIN_COVERED:
        cause = LeakCause.TOO_WEAK
    elif not matches.any():
        cause = LeakCause.NOT_DETECTED
    elif best_score < config.policy.threshold(label):
        cause = LeakCause.BELOW_THRESHOLD
    else:
        cause = LeakCause.PARTLY_HIDDEN
    return LeakDiagnosis(cause, covered, best_score)
