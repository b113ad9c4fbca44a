from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detections import Detections
from veil.errors import ConfigError
from veil.geometry import iou_matrix
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


@settings(max_examples=60, deadline=None)
@given(
    n_tracks=st.integers(1, 4),
    n_detections=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_match_boxes_finds_the_best_total_overlap_of_any_assignment(
    n_tracks: int, n_detections: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 40, (n_tracks + n_detections, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(5, 20, corners.shape).astype(np.float32)], axis=1)
    tracks, detections = boxes[:n_tracks], boxes[n_tracks:]
    iou = iou_matrix(tracks, detections)

    pairs = match_boxes(tracks, [FACE] * n_tracks, detections, [FACE] * n_detections, min_iou=0.0)

    # brute force over every way to pair the smaller side with distinct rows of the larger one
    if n_tracks <= n_detections:
        best = max(
            sum(iou[r, c] for r, c in enumerate(cols)) for cols in permutations(range(n_detections), n_tracks)
        )
    else:
        best = max(
            sum(iou[r, c] for c, r in enumerate(rows)) for rows in permutations(range(n_tracks), n_detections)
        )
    assert (
        len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs) == min(n_tracks, n_detections)
    )
    assert sum(iou[r, c] for r, c in pairs) == pytest.approx(best, abs=1e-5)
