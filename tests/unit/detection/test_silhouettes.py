from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pytest

from veil.detection.fake import FakeDetector
from veil.detection.silhouettes import SilhouetteDetector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, Mask, ObjectClass

PERSON, VEHICLE, FACE = ObjectClass.PERSON, ObjectClass.VEHICLE, ObjectClass.FACE
IMAGE = np.zeros((100, 100, 3), np.uint8)


class ScriptedSegmenter:
    """Return fixed per-class masks; count calls."""

    def __init__(self, masks: dict[ObjectClass, Mask]) -> None:
        self.masks = masks
        self.calls = 0

    def masks_for(self, image: Image, classes: Collection[ObjectClass]) -> dict[ObjectClass, Mask]:
        self.calls += 1
        return {cls: m for cls, m in self.masks.items() if cls in classes}


def _person_mask() -> Mask:
    mask = np.zeros((100, 100), bool)
    mask[20:80, 40:60] = True  # a standing figure
    mask[0:5, 0:5] = True  # something far outside any box
    return mask


def test_person_box_becomes_its_silhouette_inside_the_box() -> None:
    dets = Detections.create([[30, 10, 70, 90]], [0.9], PERSON)
    seg = ScriptedSegmenter({PERSON: _person_mask()})
    out = SilhouetteDetector(FakeDetector(dets), seg, dilate_px=0).detect(IMAGE)
    assert out.masks is not None
    expected = np.zeros((100, 100), bool)
    expected[20:80, 40:60] = True
    np.testing.assert_array_equal(out.masks[0], expected)
    np.testing.assert_allclose(out.boxes_xyxy, dets.boxes_xyxy)


def test_silhouettes_are_dilated() -> None:
    dets = Detections.create([[30, 10, 70, 90]], [0.9], PERSON)
    out = SilhouetteDetector(
        FakeDetector(dets), ScriptedSegmenter({PERSON: _person_mask()}), dilate_px=2
    ).detect(IMAGE)
    assert out.masks is not None
    assert out.masks[0, 20:80, 38:62].all()  # grown sideways
    assert out.masks[0, 18:82, 40:60].all()  # and up and down (corners are rounded)
    assert not out.masks[0, 10:90, 30:36].any()


def test_box_is_kept_whole_where_the_segmenter_finds_too_little() -> None:
    sliver = np.zeros((100, 100), bool)
    sliver[50:52, 50:52] = True
    dets = Detections.create([[30, 10, 70, 90], [0, 0, 10, 10]], [0.9, 0.8], PERSON)
    out = SilhouetteDetector(FakeDetector(dets), ScriptedSegmenter({PERSON: sliver}), dilate_px=0).detect(
        IMAGE
    )
    assert out.masks is not None
    assert out.masks[0, 10:90, 30:70].all()  # 4 pixels of 3200 is not a silhouette: fail closed
    assert out.masks[1, 0:10, 0:10].all()  # nothing at all in the box: the full box


def test_vehicles_use_vehicle_pixels_and_other_classes_keep_their_box() -> None:
    car = np.zeros((100, 100), bool)
    car[60:90, 10:50] = True
    dets = Detections.create([[5, 55, 55, 95], [70, 5, 90, 25]], [0.9, 0.9], [VEHICLE, FACE])
    seg = ScriptedSegmenter({PERSON: _person_mask(), VEHICLE: car})
    out = SilhouetteDetector(FakeDetector(dets), seg, dilate_px=0).detect(IMAGE)
    assert out.masks is not None
    np.testing.assert_array_equal(out.masks[0], car)
    assert out.masks[1, 5:25, 70:90].all()
    assert out.masks[1].sum() == 400


def test_segmenter_is_not_run_without_person_or_vehicle_regions() -> None:
    seg = ScriptedSegmenter({PERSON: _person_mask()})
    empty = SilhouetteDetector(FakeDetector(Detections.empty()), seg).detect(IMAGE)
    assert len(empty) == 0
    faces = SilhouetteDetector(FakeDetector(Detections.create([[0, 0, 5, 5]], [0.9], FACE)), seg).detect(
        IMAGE
    )
    assert faces.masks is not None and faces.masks[0, :5, :5].all()
    assert seg.calls == 0


@pytest.mark.parametrize(("ratio", "dilate"), [(-0.1, None), (1.1, None), (0.2, -1)])
def test_bad_settings_are_refused(ratio: float, dilate: int | None) -> None:
    with pytest.raises(ConfigError):
        SilhouetteDetector(
            FakeDetector(Detections.empty()), ScriptedSegmenter({}), min_fill_ratio=ratio, dilate_px=dilate
        )


def test_holes_inside_a_silhouette_are_filled() -> None:
    car = np.zeros((100, 100), bool)
    car[20:60, 20:80] = True
    car[25:35, 30:70] = False  # the rear window, labelled background
    dets = Detections.create([[10, 10, 90, 70]], [0.9], VEHICLE)
    out = SilhouetteDetector(FakeDetector(dets), ScriptedSegmenter({VEHICLE: car}), dilate_px=0).detect(IMAGE)
    assert out.masks is not None
    assert out.masks[0, 20:60, 20:80].all()
    assert out.masks[0].sum() == 40 * 60
