"""The fakes behave as other stages' tests expect."""

from __future__ import annotations

import numpy as np
import pytest
from anonymizer_cases import textured_image

from veil.anonymizers.fake import PAINT_RGB, FailingAnonymizer, RecordingAnonymizer
from veil.detections import Detections
from veil.regions import union_mask
from veil.types import Image, ObjectClass


@pytest.fixture
def textured() -> Image:
    return textured_image()


def test_recording_paints_region_shapes_and_records_each_call(textured: Image) -> None:
    anonymizer = RecordingAnonymizer()
    faces = Detections.create([[20, 20, 60, 70]], [0.9], ObjectClass.FACE)
    result = anonymizer.apply(textured, faces)
    anonymizer.apply(textured, Detections.empty())
    inside = union_mask(faces, textured.shape[:2])
    assert (result[inside] == PAINT_RGB).all()
    np.testing.assert_array_equal(result[~inside], textured[~inside])
    assert [len(c) for c in anonymizer.calls] == [1, 0]
    assert anonymizer.calls[0] is faces


def test_failing_raises_from_its_cue(textured: Image) -> None:
    anonymizer = FailingAnonymizer(RuntimeError("boom"), fail_at=1)
    copy = anonymizer.apply(textured, Detections.empty())
    np.testing.assert_array_equal(copy, textured)
    assert copy is not textured
    with pytest.raises(RuntimeError, match="boom"):
        anonymizer.apply(textured, Detections.empty())
    assert anonymizer.calls == 2
