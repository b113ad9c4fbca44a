"""The face attack's bookkeeping, with fake detectors in place of YuNet and CenterFace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.evaluation.face_attack import FaceAttacker, FaceHits, FaceReDetector
from veil.types import Image, ObjectClass

TRUTH = np.array([[10, 10, 30, 30], [60, 10, 80, 30]], np.float32)


def _image() -> Image:
    return np.zeros((40, 100, 3), np.uint8)


def _only_when_upscaled(_: int, image: Image) -> Detections:
    # Finds the second face only on the 2× copy, reported in that copy's pixels.
    if image.shape[1] == 200:
        return Detections.create([[120, 20, 160, 60]], [0.7], ObjectClass.FACE)
    return Detections.empty()


def test_attack_scores_per_face_and_detector_across_scales() -> None:
    always = FakeDetector(Detections.create([[11, 11, 31, 31]], [0.9], ObjectClass.FACE))
    upscaled = FakeDetector(_only_when_upscaled)
    attack = FaceReDetector(detectors={FaceAttacker.YUNET: always, FaceAttacker.CENTERFACE: upscaled})
    hits = attack.attack(_image(), TRUTH)
    assert hits.scores[FaceAttacker.YUNET] == pytest.approx((0.9, 0.0))
    assert hits.scores[FaceAttacker.CENTERFACE] == pytest.approx((0.0, 0.7))
    assert hits.found_by(FaceAttacker.YUNET) == [True, False]
    assert hits.found_by_any() == [True, True]
    assert attack.refound(_image(), TRUTH) == [True, True]
    assert always.calls == 4 and upscaled.calls == 4  # two scales per call of attack / refound


def test_attack_with_one_scale_misses_the_small_face() -> None:
    attack = FaceReDetector(
        scales=(1.0,), detectors={FaceAttacker.CENTERFACE: FakeDetector(_only_when_upscaled)}
    )
    assert attack.refound(_image(), TRUTH) == [False, False]


def test_attack_without_faces_returns_empty_lists() -> None:
    attack = FaceReDetector(detectors={FaceAttacker.YUNET: FakeDetector(Detections.empty())})
    assert attack.refound(_image(), np.zeros((0, 4), np.float32)) == []


def test_face_hits_found_by_any_with_no_detection() -> None:
    hits = FaceHits({FaceAttacker.YUNET: (0.0, 0.0), FaceAttacker.CENTERFACE: (0.0, 0.41)})
    assert hits.found_by_any() == [False, True]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scales": ()},
        {"scales": (1.0, 20.0)},
        {"min_scores": {FaceAttacker.YUNET: 0.0}},
        {"min_scores": {FaceAttacker.CENTERFACE: 1.5}},
        {"detectors": {}},
    ],
)
def test_invalid_settings_are_config_errors(kwargs: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        FaceReDetector(tmp_path, **kwargs)  # type: ignore[arg-type]
