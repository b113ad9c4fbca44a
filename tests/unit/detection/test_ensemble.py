from __future__ import annotations

import numpy as np
import pytest

from veil.detection.ensemble import EnsembleDetector
from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import ObjectClass

FACE, PLATE, PERSON = ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.PERSON
IMAGE = np.zeros((40, 60, 3), np.uint8)


def _fake(boxes: list[list[float]], scores: list[float], label: ObjectClass) -> FakeDetector:
    return FakeDetector(Detections.create(boxes, scores, label), classes=frozenset({label}))


def test_overlapping_faces_from_two_detectors_become_one_region() -> None:
    a = _fake([[10, 10, 20, 20]], [0.9], FACE)
    b = _fake([[11, 11, 21, 21]], [0.6], FACE)
    out = EnsembleDetector([a, b], {FACE: 0.5}).detect(IMAGE)
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes_xyxy[0], [10, 10, 21, 21])
    assert out.scores[0] == pytest.approx(0.9)


def test_scores_below_the_class_threshold_are_dropped_before_merging() -> None:
    a = _fake([[10, 10, 20, 20]], [0.9], FACE)
    b = _fake([[11, 11, 30, 30], [40, 5, 50, 15]], [0.3, 0.3], FACE)
    out = EnsembleDetector([a, b], {FACE: 0.5}).detect(IMAGE)
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes_xyxy[0], [10, 10, 20, 20])


def test_thresholds_are_per_class_and_unlisted_classes_keep_everything() -> None:
    faces = _fake([[0, 0, 5, 5]], [0.4], FACE)
    plates = _fake([[10, 10, 20, 15]], [0.4], PLATE)
    persons = _fake([[30, 0, 40, 30]], [0.05], PERSON)
    out = EnsembleDetector([faces, plates, persons], {FACE: 0.5, PLATE: 0.3}).detect(IMAGE)
    assert sorted(label.value for label in out.labels) == ["person", "plate"]


def test_different_classes_are_not_merged() -> None:
    out = EnsembleDetector(
        [_fake([[0, 0, 10, 10]], [0.9], FACE), _fake([[0, 0, 10, 10]], [0.9], PLATE)], {}
    ).detect(IMAGE)
    assert len(out) == 2


def test_classes_are_the_union_and_every_detector_runs_once() -> None:
    a = _fake([], [], FACE)
    b = _fake([], [], PLATE)
    ensemble = EnsembleDetector([a, b], {})
    assert ensemble.classes == {FACE, PLATE}
    assert len(ensemble.detect(IMAGE)) == 0
    assert (a.calls, b.calls) == (1, 1)


def test_regions_with_masks_and_without_are_joined() -> None:
    masks = np.zeros((1, 40, 60), bool)
    masks[0, 5:30, 32:38] = True
    persons = FakeDetector(Detections.create([[30, 0, 40, 30]], [0.9], PERSON, masks=masks))
    faces = _fake([[0, 0, 5, 5]], [0.9], FACE)
    out = EnsembleDetector([persons, faces], {}).detect(IMAGE)
    assert out.masks is not None
    person = out.of_class(PERSON)
    face = out.of_class(FACE)
    assert person.masks is not None and face.masks is not None
    np.testing.assert_array_equal(person.masks[0], masks[0])
    assert not face.masks[0].any()  # "no silhouette": drawn by its box or ellipse


def test_image_is_not_modified() -> None:
    image = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    before = image.copy()
    EnsembleDetector([_fake([[0, 0, 5, 5]], [0.9], FACE)], {}).detect(image)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("iou", [-0.1, 1.5])
def test_bad_settings_are_refused(iou: float) -> None:
    with pytest.raises(ConfigError, match="iou_merge"):
        EnsembleDetector([_fake([], [], FACE)], {}, iou_merge=iou)
    with pytest.raises(ConfigError, match="at least one"):
        EnsembleDetector([], {})
