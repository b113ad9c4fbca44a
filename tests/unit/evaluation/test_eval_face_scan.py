"""FaceReDetector's scan (no annotations), crop attack and per-threshold bookkeeping, with fakes."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.evaluation.face_attack import FaceAttacker, FaceHits, FaceReDetector
from veil.types import Image, ObjectClass


def _image() -> Image:
    return np.zeros((100, 200, 3), np.uint8)


def test_scan_merges_one_face_seen_tight_and_loose_by_two_detectors() -> None:
    tight = FakeDetector(Detections.create([[50, 50, 70, 70]], [0.9], ObjectClass.FACE))
    # A whole-head box around the same face (IoU < 0.3 but containing it) and a second, separate face.
    loose = FakeDetector(
        Detections.create([[42, 40, 78, 80], [150, 10, 170, 30]], [0.6, 0.45], ObjectClass.FACE)
    )
    attack = FaceReDetector(
        scales=(1.0,), detectors={FaceAttacker.YUNET: tight, FaceAttacker.CENTERFACE: loose}
    )
    scan = attack.scan(_image())
    assert scan.boxes_xyxy.tolist() == [[50, 50, 70, 70], [150, 10, 170, 30]]
    assert scan.hits.scores[FaceAttacker.YUNET] == pytest.approx((0.9, 0.0))
    assert scan.hits.scores[FaceAttacker.CENTERFACE] == pytest.approx((0.6, 0.45))


def test_scan_uses_per_attacker_scales() -> None:
    yunet, centerface = FakeDetector(Detections.empty()), FakeDetector(Detections.empty())
    attack = FaceReDetector(detectors={FaceAttacker.YUNET: yunet, FaceAttacker.CENTERFACE: centerface})
    scan = attack.scan(_image(), {FaceAttacker.CENTERFACE: (1.0,)})
    assert scan.boxes_xyxy.shape == (0, 4)
    assert (yunet.calls, centerface.calls) == (2, 1)


def test_attack_around_finds_the_face_in_a_crop_in_frame_pixels() -> None:
    def in_crop(_: int, crop: Image) -> Detections:
        # The face sits in the middle third of a crop grown by its own size on each side.
        height, width = crop.shape[:2]
        return Detections.create(
            [[width / 3, height / 3, 2 * width / 3, 2 * height / 3]], [0.7], ObjectClass.FACE
        )

    detector = FakeDetector(in_crop)
    attack = FaceReDetector(detectors={FaceAttacker.YUNET: detector})
    hits = attack.attack_around(_image(), np.array([[60, 40, 80, 60]], np.float32))
    # Found only if the crop's box is shifted back: unshifted it would lie at (20, 20)–(40, 40).
    assert hits.scores[FaceAttacker.YUNET] == pytest.approx((0.7,))
    assert detector.calls == 2  # one crop, at 1× and 2× (the face is small)
    attack.attack_around(_image(), np.array([[0, 0, 100, 100]], np.float32))
    assert detector.calls == 3  # a large face is not upscaled


def test_hits_against_thresholds() -> None:
    hits = FaceHits({FaceAttacker.YUNET: (0.5, 0.2), FaceAttacker.CENTERFACE: (0.0, 0.3)})
    limits = {FaceAttacker.YUNET: 0.5, FaceAttacker.CENTERFACE: 0.4}
    assert hits.found_at(limits) == [True, False]
    assert hits.strength(limits) == pytest.approx([1.0, 0.75])
