from __future__ import annotations

import cv2
import numpy as np
import pytest
from red_patch_fakes import RedPatchDetector, image_with_patches

from veil.detection.fake import FakeDetector
from veil.detection.plates import PlateDetector, WholeImageText
from veil.detections import Detections
from veil.types import ObjectClass

PLATE, VEHICLE, TEXT, PERSON = (
    ObjectClass.LICENSE_PLATE,
    ObjectClass.VEHICLE,
    ObjectClass.TEXT,
    ObjectClass.PERSON,
)


def _vehicles(*boxes: list[float]) -> FakeDetector:
    labels = [VEHICLE] * len(boxes)
    return FakeDetector(
        Detections.create(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.8), labels),
        classes=frozenset({VEHICLE, PERSON}),
    )


def _covers(polygon: np.ndarray, points: list[tuple[float, float]]) -> bool:
    contour = polygon.reshape(-1, 1, 2).astype(np.float32)
    return all(cv2.pointPolygonTest(contour, p, False) >= 0 for p in points)


def test_text_on_a_vehicle_becomes_a_plate_in_frame_coordinates() -> None:
    image = image_with_patches(400, 600, [(300, 300, 340, 310)])
    text = RedPatchDetector(label=TEXT)
    out = PlateDetector(text, _vehicles([250, 200, 400, 320]), text_pad_ratio=0.0).detect(image)
    assert len(out) == 1
    assert out.labels[0] is PLATE
    np.testing.assert_allclose(out.boxes_xyxy[0], [300, 300, 340, 310], atol=1)
    # The text detector saw the vehicle crop (grown by the margin), not the frame.
    assert text.seen_shapes == [(144, 180, 3)]


def test_text_regions_grow_to_the_plate_around_them() -> None:
    image = image_with_patches(400, 600, [(300, 300, 340, 310)])
    out = PlateDetector(RedPatchDetector(label=TEXT), _vehicles([250, 200, 400, 320])).detect(image)
    polygon = out.polygon(0)
    assert polygon is not None
    # Padded by 0.6 × the 10-px text height at each end, 0.3 × across.
    assert _covers(polygon, [(295, 298), (345, 298), (345, 312), (295, 312)])
    assert not _covers(polygon, [(290, 305)])


def test_text_outside_vehicles_is_ignored_when_vehicles_are_found() -> None:
    image = image_with_patches(400, 600, [(20, 20, 60, 30)])
    out = PlateDetector(RedPatchDetector(label=TEXT), _vehicles([250, 200, 400, 320])).detect(image)
    assert len(out) == 0


def test_whole_image_is_searched_when_no_vehicle_is_found() -> None:
    image = image_with_patches(400, 600, [(20, 20, 60, 30)])
    text = RedPatchDetector(label=TEXT)
    out = PlateDetector(text, _vehicles()).detect(image)
    assert len(out) == 1
    assert text.seen_shapes == [(400, 600, 3)]
    never = PlateDetector(RedPatchDetector(label=TEXT), _vehicles(), whole_image_text=WholeImageText.NEVER)
    assert len(never.detect(image)) == 0


def test_always_searches_the_whole_image_too() -> None:
    image = image_with_patches(400, 600, [(20, 20, 60, 30), (300, 300, 340, 310)])
    detector = PlateDetector(
        RedPatchDetector(label=TEXT), _vehicles([250, 200, 400, 320]), whole_image_text=WholeImageText.ALWAYS
    )
    assert len(detector.detect(image)) == 2


def test_plate_detector_regions_join_and_merge_with_text() -> None:
    image = image_with_patches(400, 600, [(300, 300, 340, 310)])
    lpd_quad = np.array([[298, 298], [342, 298], [342, 312], [298, 312]], np.float32)
    lpd = FakeDetector(
        Detections.create(
            [[298, 298, 342, 312], [10, 10, 50, 20]], [0.95, 0.7], PLATE, polygons=[lpd_quad, None]
        ),
        classes=frozenset({PLATE}),
    )
    out = PlateDetector(RedPatchDetector(label=TEXT), _vehicles([0, 0, 600, 400]), lpd).detect(image)
    assert len(out) == 2  # the text and the LPD quad on the same plate merge; the other LPD plate stays
    assert max(out.scores) == pytest.approx(0.95)
    assert all(label is PLATE for label in out.labels)


def test_plate_model_is_skipped_when_every_vehicle_is_small() -> None:
    image = image_with_patches(400, 600, [])
    lpd = FakeDetector(Detections.empty(), classes=frozenset({PLATE}))
    PlateDetector(RedPatchDetector(label=TEXT), _vehicles([10, 10, 60, 50]), lpd).detect(image)
    assert lpd.calls == 0
    PlateDetector(RedPatchDetector(label=TEXT), _vehicles([10, 10, 300, 250]), lpd).detect(image)
    assert lpd.calls == 1
    PlateDetector(RedPatchDetector(label=TEXT), _vehicles(), lpd).detect(image)
    assert lpd.calls == 2


def test_at_most_max_vehicles_largest_first_are_searched() -> None:
    image = image_with_patches(400, 600, [])
    text = RedPatchDetector(label=TEXT)
    vehicles = _vehicles([0, 0, 50, 50], [100, 100, 300, 300], [400, 0, 480, 80])
    PlateDetector(text, vehicles, max_vehicles=2, vehicle_margin_ratio=0.0).detect(image)
    assert text.seen_shapes == [(200, 200, 3), (80, 80, 3)]


def test_persons_are_not_searched_and_image_is_unchanged() -> None:
    image = image_with_patches(400, 600, [(300, 300, 340, 310)])
    before = image.copy()
    persons = FakeDetector(Detections.create([[250, 200, 400, 320]], [0.9], PERSON))
    text = RedPatchDetector(label=TEXT)
    out = PlateDetector(text, persons, whole_image_text=WholeImageText.NEVER).detect(image)
    assert len(out) == 0
    assert text.seen_shapes == []
    np.testing.assert_array_equal(image, before)


def test_small_vehicle_crops_are_enlarged_and_regions_mapped_back() -> None:
    image = image_with_patches(400, 600, [(300, 300, 340, 310)])
    text = RedPatchDetector(label=TEXT)
    detector = PlateDetector(
        text, _vehicles([250, 200, 400, 320]), text_pad_ratio=0.0, crop_long_side_px=640, max_crop_enlarge=2.0
    )
    out = detector.detect(image)
    assert text.seen_shapes == [(288, 360, 3)]  # the 144×180 crop at twice its size
    np.testing.assert_allclose(out.boxes_xyxy[0], [300, 300, 340, 310], atol=1)


def test_enlargement_stops_at_the_crop_long_side() -> None:
    image = image_with_patches(400, 600, [])
    text = RedPatchDetector(label=TEXT)
    PlateDetector(text, _vehicles([0, 0, 500, 300]), crop_long_side_px=640, max_crop_enlarge=2.0).detect(
        image
    )
    (shape,) = text.seen_shapes
    assert max(shape[:2]) == 640


def test_a_vehicle_inside_a_searched_one_is_not_searched_again() -> None:
    image = image_with_patches(400, 600, [])
    text = RedPatchDetector(label=TEXT)
    vehicles = _vehicles([100, 100, 300, 300], [150, 150, 250, 250], [400, 0, 480, 80])
    PlateDetector(text, vehicles, max_vehicles=2, vehicle_margin_ratio=0.0).detect(image)
    # The nested box neither is searched nor uses up one of the two crops.
    assert text.seen_shapes == [(200, 200, 3), (80, 80, 3)]
