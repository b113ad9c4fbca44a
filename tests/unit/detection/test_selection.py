from __future__ import annotations

import numpy as np
import pytest

from veil.detection.fake import FakeDetector
from veil.detection.selection import SelectClasses
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import ObjectClass

PERSON, VEHICLE, FACE = ObjectClass.PERSON, ObjectClass.VEHICLE, ObjectClass.FACE


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
