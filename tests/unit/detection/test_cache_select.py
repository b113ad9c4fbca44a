from __future__ import annotations

import numpy as np
import pytest

from veil.detection.cache import LastImageCache
from veil.detection.fake import FakeDetector
from veil.detection.select import SelectClasses
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, ObjectClass

PERSON, VEHICLE, FACE = ObjectClass.PERSON, ObjectClass.VEHICLE, ObjectClass.FACE


def _count_red(index: int, image: Image) -> Detections:
    n = int((image[:, :, 0] == 255).sum())
    return Detections.create(np.tile([0, 0, 1, 1], (n, 1)), np.full(n, 0.5), PERSON)


def test_same_image_is_detected_once() -> None:
    inner = FakeDetector(_count_red)
    cache = LastImageCache(inner)
    image = np.zeros((8, 8, 3), np.uint8)
    first = cache.detect(image)
    assert cache.detect(image.copy()) is first
    assert inner.calls == 1


def test_a_reused_buffer_with_new_content_is_detected_again() -> None:
    inner = FakeDetector(_count_red)
    cache = LastImageCache(inner)
    buffer = np.zeros((8, 8, 3), np.uint8)
    assert len(cache.detect(buffer)) == 0
    buffer[0, 0, 0] = 255
    assert len(cache.detect(buffer)) == 1
    assert inner.calls == 2


def test_select_keeps_only_the_chosen_classes() -> None:
    inner = FakeDetector(
        Detections.create([[0, 0, 1, 1], [1, 1, 2, 2]], [0.9, 0.8], [PERSON, VEHICLE]),
        classes=frozenset({PERSON, VEHICLE}),
    )
    selected = SelectClasses(inner, frozenset({VEHICLE}))
    assert selected.classes == {VEHICLE}
    assert list(selected.detect(np.zeros((4, 4, 3), np.uint8)).labels) == [VEHICLE]


def test_select_refuses_classes_the_detector_cannot_find() -> None:
    inner = FakeDetector(Detections.empty(), classes=frozenset({PERSON}))
    with pytest.raises(ConfigError, match="face"):
        SelectClasses(inner, frozenset({FACE}))
