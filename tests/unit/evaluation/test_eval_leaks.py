"""Why a leak happened, told from the run's own detections."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.evaluation.leaks import LeakCause, diagnose_leak, hidden_mask
from veil.pipeline.config import PipelineConfig, PrivacyPolicy
from veil.types import ObjectClass

FRAME_HW = (200, 300)
FACE = [100.0, 50.0, 140.0, 90.0]
CONFIG = PipelineConfig(policy=PrivacyPolicy(score_thresholds={ObjectClass.FACE: 0.5}, margin_ratio=0.0))


def _faces(boxes: list[list[float]], scores: list[float]) -> Detections:
    return Detections.create(boxes, scores, ObjectClass.FACE) if boxes else Detections.empty()


@pytest.mark.parametrize(
    ("detections", "cause"),
    [
        (_faces([], []), LeakCause.NOT_DETECTED),
        (_faces([[0, 0, 20, 20]], [0.9]), LeakCause.NOT_DETECTED),  # a region, but elsewhere
        (Detections.create([FACE], [0.9], ObjectClass.LICENSE_PLATE), LeakCause.TOO_WEAK),  # hidden anyway
        (_faces([FACE], [0.3]), LeakCause.BELOW_THRESHOLD),
        (_faces([[100, 50, 140, 75]], [0.9]), LeakCause.PARTLY_HIDDEN),  # about the box's top 70 % only
        (_faces([[95, 45, 145, 95]], [0.9]), LeakCause.TOO_WEAK),
    ],
)
def test_diagnose_leak(detections: Detections, cause: LeakCause) -> None:
    diagnosis = diagnose_leak(FACE, ObjectClass.FACE, detections, CONFIG, FRAME_HW)
    assert diagnosis.cause is cause
    assert cause.value in diagnosis.describe()


def test_diagnose_leak_reports_coverage_and_score() -> None:
    diagnosis = diagnose_leak(FACE, ObjectClass.FACE, _faces([[100, 50, 140, 75]], [0.8]), CONFIG, FRAME_HW)
    # Faces are hidden as the ellipse through their box's corners, so a bit more than the box's top 25 rows.
    assert 25 / 40 < diagnosis.covered < 0.9
    assert diagnosis.best_score == pytest.approx(0.8)


def test_hidden_mask_applies_threshold_and_margin() -> None:
    grown = PipelineConfig(policy=PrivacyPolicy(score_thresholds={ObjectClass.FACE: 0.5}, margin_ratio=0.5))
    found = Detections.create([[10, 10, 20, 20], [50, 50, 60, 60]], [0.9, 0.2], ObjectClass.FACE)
    mask = hidden_mask(found, grown, FRAME_HW)
    assert mask.shape == FRAME_HW
    assert mask[15, 15] and not mask[55, 55]  # the weak region is not hidden
    assert mask[10, 6] or mask[6, 10]  # the kept one grew beyond its box
    assert not mask[100:, :].any()
    assert np.count_nonzero(mask) > 100
