"""Per-class dispatch sends each region to its class's anonymizer."""

from __future__ import annotations

import numpy as np
import pytest
from anonymizer_cases import textured_image

from veil.anonymizers.fake import RecordingAnonymizer
from veil.anonymizers.per_class import PerClassAnonymizer
from veil.detections import Detections
from veil.types import Image, ObjectClass


@pytest.fixture
def textured() -> Image:
    return textured_image()


FACE, PLATE, PERSON, TEXT = ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.PERSON, ObjectClass.TEXT


def test_regions_go_to_their_class_or_the_default(textured: Image) -> None:
    faces, plates, default = (
        RecordingAnonymizer((1, 1, 1)),
        RecordingAnonymizer((2, 2, 2)),
        RecordingAnonymizer(),
    )
    anonymizer = PerClassAnonymizer({FACE: faces, PLATE: plates}, default=default)
    detections = Detections.create(
        [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10], [80, 0, 90, 10]],
        [0.9] * 5,
        [PLATE, PERSON, PLATE, TEXT, FACE],
    )
    result = anonymizer.apply(textured, detections)
    assert [c.labels.tolist() for c in faces.calls] == [[FACE]]
    assert [c.labels.tolist() for c in plates.calls] == [[PLATE, PLATE]]
    assert [c.labels.tolist() for c in default.calls] == [[PERSON, TEXT]]
    assert (result[5, 5] == 2).all() and (result[5, 45] == 2).all()
    assert (result[5, 25] == default.color_rgb).all() and (result[5, 65] == default.color_rgb).all()
    assert (result[5, 85] == 1).all()


def test_classes_without_regions_are_not_called(textured: Image) -> None:
    faces, default = RecordingAnonymizer(), RecordingAnonymizer()
    anonymizer = PerClassAnonymizer({FACE: faces}, default=default)
    anonymizer.apply(textured, Detections.create([[0, 0, 5, 5]], [0.9], FACE))
    anonymizer.apply(textured, Detections.empty())
    assert len(faces.calls) == 1 and not default.calls


def test_the_methods_mapping_is_copied(textured: Image) -> None:
    methods = {FACE: RecordingAnonymizer((1, 1, 1))}
    default = RecordingAnonymizer((2, 2, 2))
    anonymizer = PerClassAnonymizer(methods, default=default)
    methods[FACE] = default
    result = anonymizer.apply(textured, Detections.create([[0, 0, 5, 5]], [0.9], PLATE))
    np.testing.assert_array_equal(result[2, 2], [2, 2, 2])
    result = anonymizer.apply(textured, Detections.create([[0, 0, 5, 5]], [0.9], FACE))
    assert (result[2, 2] == 1).all()
