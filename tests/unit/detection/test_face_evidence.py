"""FaceEvidence: unsure faces on vehicles, or of vehicle size, need the second detector's word."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detection.face_evidence import FaceEvidence
from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, ObjectClass

IMAGE: Image = np.zeros((360, 640, 3), np.uint8)
CAR = [200.0, 150.0, 400.0, 300.0]
FACE_ON_CAR = [280.0, 200.0, 300.0, 220.0]  # 20 px, wholly on the car
FACE_ON_GRASS = [40.0, 40.0, 60.0, 60.0]


def _faces(*rows: tuple[list[float], float]) -> Detections:
    return Detections.create(
        np.array([b for b, _ in rows], np.float32).reshape(-1, 4),
        np.array([s for _, s in rows], np.float32),
        ObjectClass.FACE,
    )


def _bodies(vehicles: list[list[float]], persons: list[list[float]] = ()) -> Detections:  # type: ignore[assignment]
    parts = []
    if vehicles:
        parts.append(
            Detections.create(
                np.array(vehicles, np.float32), np.full(len(vehicles), 0.8, np.float32), ObjectClass.VEHICLE
            )
        )
    if persons:
        parts.append(
            Detections.create(
                np.array(persons, np.float32), np.full(len(persons), 0.8, np.float32), ObjectClass.PERSON
            )
        )
    return Detections.concat(parts)


def _centred_face(call: int, crop: Image) -> Detections:
    """A second detector that sees a face in the middle third of every crop it is shown."""
    h, w = crop.shape[:2]
    return _faces(([w / 3, h / 3, 2 * w / 3, 2 * h / 3], 0.6))


def _filter(
    faces: Detections, bodies: Detections, confirm: FakeDetector
) -> tuple[FaceEvidence, FakeDetector]:
    body_detector = FakeDetector(bodies)
    return FaceEvidence(FakeDetector(faces), body_detector, confirm, min_score=0.35), body_detector


def test_unsure_face_on_a_vehicle_is_dropped_when_the_second_detector_sees_nothing() -> None:
    confirm = FakeDetector(Detections.empty())
    evidence, _ = _filter(_faces((FACE_ON_CAR, 0.5), (FACE_ON_GRASS, 0.5)), _bodies([CAR]), confirm)
    kept = evidence.detect(IMAGE)
    assert kept.boxes_xyxy.tolist() == [FACE_ON_GRASS]
    assert confirm.calls == 1  # only the face on the car was looked at again


def test_unsure_face_on_a_vehicle_is_kept_when_the_second_detector_sees_it_there() -> None:
    confirm = FakeDetector(_centred_face)
    evidence, _ = _filter(_faces((FACE_ON_CAR, 0.5)), _bodies([CAR]), confirm)
    assert evidence.detect(IMAGE).boxes_xyxy.tolist() == [FACE_ON_CAR]
    assert confirm.calls == 1


def test_a_second_opinion_elsewhere_in_the_crop_does_not_confirm() -> None:
    def corner(call: int, crop: Image) -> Detections:
        return _faces(([0.0, 0.0, 8.0, 8.0], 0.9))

    evidence, _ = _filter(_faces((FACE_ON_CAR, 0.5)), _bodies([CAR]), FakeDetector(corner))
    assert len(evidence.detect(IMAGE)) == 0


def test_the_crop_shows_the_face_enlarged_with_its_context() -> None:
    shapes: list[tuple[int, ...]] = []

    def record(call: int, crop: Image) -> Detections:
        shapes.append(crop.shape)
        return Detections.empty()

    evidence, _ = _filter(_faces((FACE_ON_CAR, 0.5)), _bodies([CAR]), FakeDetector(record))
    evidence.detect(IMAGE)
    # 20 px face grown by its size per side: 60 px, scaled so the face is 64 px: 192 px.
    assert shapes == [(192, 192, 3)]


@pytest.mark.parametrize(
    ("faces", "bodies"),
    [
        (_faces((FACE_ON_CAR, 0.9)), _bodies([CAR])),  # sure of it
        (
            _faces((FACE_ON_CAR, 0.5)),
            _bodies([CAR], [[270.0, 190.0, 320.0, 300.0]]),
        ),  # a driver, a pedestrian
        (_faces((FACE_ON_GRASS, 0.5)), _bodies([CAR])),  # not on the vehicle
        (_faces((FACE_ON_CAR, 0.5)), _bodies([])),  # no vehicle found
        (_faces((FACE_ON_CAR, 0.2)), _bodies([CAR])),  # below the threshold: the policy's business
        (_faces(), _bodies([CAR])),
    ],
)
def test_faces_with_nothing_against_them_pass_without_a_second_look(
    faces: Detections, bodies: Detections
) -> None:
    confirm = FakeDetector(Detections.empty())
    evidence, _ = _filter(faces, bodies, confirm)
    kept = evidence.detect(IMAGE)
    assert kept.boxes_xyxy.tolist() == faces.boxes_xyxy.tolist()
    assert confirm.calls == 0


def test_sure_faces_skip_the_vehicle_detector() -> None:
    evidence, bodies = _filter(_faces((FACE_ON_CAR, 0.95)), _bodies([CAR]), FakeDetector(Detections.empty()))
    evidence.detect(IMAGE)
    assert bodies.calls == 0


def test_a_face_of_vehicle_size_needs_the_second_opinion_even_off_vehicles() -> None:
    huge = [100.0, 40.0, 300.0, 240.0]  # 200 px: over a quarter of the 360 px short side
    confirm = FakeDetector(Detections.empty())
    evidence, bodies = _filter(_faces((huge, 0.4)), _bodies([]), confirm)
    assert len(evidence.detect(IMAGE)) == 0
    assert confirm.calls == 1
    assert bodies.calls == 0  # its size alone made it suspect
    evidence, _ = _filter(_faces((huge, 0.4)), _bodies([]), FakeDetector(_centred_face))
    assert evidence.detect(IMAGE).boxes_xyxy.tolist() == [huge]


def test_other_classes_pass_through() -> None:
    plate = Detections.create(
        np.array([FACE_ON_CAR], np.float32), np.array([0.5], np.float32), ObjectClass.LICENSE_PLATE
    )
    evidence, _ = _filter(plate, _bodies([CAR]), FakeDetector(Detections.empty()))
    assert evidence.detect(IMAGE).labels.tolist() == [ObjectClass.LICENSE_PLATE]


@pytest.mark.parametrize(
    "name", ["min_score", "sure_score", "confirm_score", "on_vehicle_ratio", "large_ratio"]
)
def test_settings_out_of_range_are_refused(name: str) -> None:
    fake = FakeDetector(Detections.empty())
    kwargs = {"min_score": 0.35, name: 1.5}
    with pytest.raises(ConfigError, match=name):
        FaceEvidence(fake, fake, fake, **kwargs)  # type: ignore[arg-type]
