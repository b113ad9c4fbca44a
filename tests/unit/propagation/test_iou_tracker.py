from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import ConfigError
from veil.propagation.tracker import IouTracker, match_boxes
from veil.types import ObjectClass

FACE, PERSON = ObjectClass.FACE, ObjectClass.PERSON


def _dets(boxes: list[list[float]], labels: list[ObjectClass]) -> Detections:
    return Detections.create(np.array(boxes, np.float32).reshape(-1, 4), [0.9] * len(boxes), labels)


def _ids(found: Detections) -> list[int]:
    assert found.track_ids is not None
    return found.track_ids.tolist()


def test_ids_stay_with_moving_objects_and_order_does_not_matter() -> None:
    tracker = IouTracker()
    first = _ids(tracker.update(0, _dets([[0, 0, 20, 20], [100, 100, 130, 140]], [FACE, PERSON])))
    assert len(set(first)) == 2 and min(first) >= 1
    for t in range(1, 6):
        # listed in the other order, each moved 3 px a frame
        later = tracker.update(
            t, _dets([[100 + 3 * t, 100, 130 + 3 * t, 140], [3 * t, 0, 20 + 3 * t, 20]], [PERSON, FACE])
        )
        assert _ids(later) == [first[1], first[0]]


def test_a_new_object_gets_a_new_id() -> None:
    tracker = IouTracker()
    (a,) = _ids(tracker.update(0, _dets([[0, 0, 20, 20]], [FACE])))
    ids = _ids(tracker.update(1, _dets([[0, 0, 20, 20], [50, 50, 70, 70]], [FACE, FACE])))
    assert ids[0] == a and ids[1] not in (a, -1)


def test_tracks_are_per_class() -> None:
    tracker = IouTracker()
    (a,) = _ids(tracker.update(0, _dets([[0, 0, 20, 20]], [FACE])))
    (b,) = _ids(tracker.update(1, _dets([[0, 0, 20, 20]], [PERSON])))
    assert b != a


def test_velocity_bridges_a_gap_between_detection_frames() -> None:
    tracker = IouTracker()
    (a,) = _ids(tracker.update(0, _dets([[0, 0, 20, 20]], [FACE])))
    tracker.update(2, _dets([[10, 0, 30, 20]], [FACE]))  # 5 px a frame
    # 10 frames later it has moved 50 px: no overlap with its last box, but with the predicted one
    (c,) = _ids(tracker.update(12, _dets([[60, 0, 80, 20]], [FACE])))
    assert c == a


def test_predicted_boxes_override_the_tracks_own_guess() -> None:
    tracker = IouTracker()
    (a,) = _ids(tracker.update(0, _dets([[0, 0, 20, 20]], [FACE])))
    (b,) = _ids(
        tracker.update(
            5, _dets([[200, 0, 220, 20]], [FACE]), predicted={a: np.array([198, 0, 218, 20], np.float32)}
        )
    )
    assert b == a


def test_tracks_unmatched_too_long_are_forgotten_and_ids_never_reused() -> None:
    tracker = IouTracker(max_missed_frames=3)
    (a,) = _ids(tracker.update(0, _dets([[0, 0, 20, 20]], [FACE])))
    tracker.update(3, Detections.empty())
    assert tracker.track_ids == {a}
    tracker.update(4, Detections.empty())
    assert tracker.track_ids == frozenset()
    (b,) = _ids(tracker.update(5, _dets([[0, 0, 20, 20]], [FACE])))
    tracker.reset()
    (c,) = _ids(tracker.update(6, _dets([[0, 0, 20, 20]], [FACE])))
    assert len({a, b, c}) == 3


def test_match_boxes_maximises_total_overlap() -> None:
    tracks = np.array([[0, 0, 10, 10], [8, 0, 18, 10]], np.float32)
    # greedy would give detection 0 (best IoU with track 1) to track 1 and leave track 0 unmatched
    detections = np.array([[6, 0, 16, 10], [0, 0, 9, 10]], np.float32)
    pairs = match_boxes(tracks, [FACE, FACE], detections, [FACE, FACE], min_iou=0.3)
    assert sorted(pairs) == [(0, 1), (1, 0)]


@pytest.mark.parametrize(
    ("tracks", "detections"),
    [
        (np.zeros((0, 4), np.float32), np.array([[0, 0, 5, 5]], np.float32)),
        (np.array([[0, 0, 5, 5]], np.float32), np.zeros((0, 4), np.float32)),
    ],
)
def test_match_boxes_with_nothing_on_one_side(tracks: np.ndarray, detections: np.ndarray) -> None:
    assert match_boxes(tracks, [FACE] * len(tracks), detections, [FACE] * len(detections), 0.1) == []


@pytest.mark.parametrize(("min_iou", "max_missed"), [(0.0, 5), (1.5, 5), (0.3, -1)])
def test_out_of_range_settings_are_refused(min_iou: float, max_missed: int) -> None:
    with pytest.raises(ConfigError):
        IouTracker(min_iou=min_iou, max_missed_frames=max_missed)
