from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import ConfigError
from veil.propagation.gap_fill import LookAheadGapFiller
from veil.types import ObjectClass, Origin

FACE = ObjectClass.FACE
Sightings = dict[int, dict[int, tuple[float, float, float, float]]]  # frame → track id → box


def _regions(tracks: dict[int, tuple[float, float, float, float]]) -> Detections:
    if not tracks:
        return Detections.empty()
    return Detections.create(list(tracks.values()), [0.8] * len(tracks), FACE, track_ids=list(tracks))


def _run(
    filler: LookAheadGapFiller, frames: int, sightings: Sightings, cuts: frozenset[int] = frozenset()
) -> list[tuple[int, Detections]]:
    out = []
    for index in range(frames):
        out += filler.push(index, _regions(sightings.get(index, {})), scene_cut=index in cuts)
    return out + filler.flush()


def _box_of(found: Detections, track_id: int) -> list[float] | None:
    assert found.track_ids is not None or len(found) == 0
    rows = [] if found.track_ids is None else np.flatnonzero(found.track_ids == track_id)
    return None if not len(rows) else found.boxes_xyxy[rows[0]].tolist()


def _track_frames(out: list[tuple[int, Detections]], track_id: int) -> list[int]:
    return [index for index, found in out if _box_of(found, track_id) is not None]


BOX = (10.0, 10.0, 30.0, 30.0)


@pytest.mark.parametrize(("lookahead", "hold"), [(0, 0), (0, 3), (4, 0), (4, 6), (10, 2)])
def test_every_frame_comes_out_once_in_order_after_the_lookahead(lookahead: int, hold: int) -> None:
    filler = LookAheadGapFiller(lookahead, hold)
    emitted: list[int] = []
    for index in range(20):
        ready = filler.push(index, _regions({1: BOX} if index % 3 == 0 else {}))
        assert all(i <= index - lookahead for i, _ in ready)
        emitted += [i for i, _ in ready]
        assert emitted == list(range(max(0, index - lookahead + 1)))
    emitted += [i for i, _ in filler.flush()]
    assert emitted == list(range(20))


def test_a_one_frame_gap_is_interpolated() -> None:
    sightings: Sightings = {10: {7: (0, 0, 20, 20)}, 12: {7: (4, 2, 24, 22)}}
    out = dict(_run(LookAheadGapFiller(2, 0), 14, sightings))
    filled = out[11]
    assert _box_of(filled, 7) == [2, 1, 22, 21]
    assert list(filled.origins) == [Origin.PROPAGATED]
    assert list(filled.labels) == [FACE]
    assert _track_frames(list(out.items()), 7) == [8, 9, 10, 11, 12]  # with 2 frames of entry


def test_a_multi_frame_gap_is_interpolated_linearly() -> None:
    sightings: Sightings = {0: {1: (0, 0, 10, 10)}, 4: {1: (40, 0, 50, 10)}}
    out = dict(_run(LookAheadGapFiller(5, 0), 6, sightings))
    assert [_box_of(out[i], 1) for i in range(5)] == [[10.0 * i, 0, 10.0 * i + 10, 10] for i in range(5)]
    assert _box_of(out[5], 1) is None


def test_a_gap_longer_than_the_lookahead_is_held_then_entered() -> None:
    sightings: Sightings = {0: {1: (0, 0, 10, 10)}, 10: {1: (90, 0, 100, 10)}}
    out = _run(LookAheadGapFiller(3, 2), 12, sightings)
    assert _track_frames(out, 1) == [0, 1, 2, 7, 8, 9, 10, 11]
    boxes = dict(out)
    assert _box_of(boxes[2], 1) == [0, 0, 10, 10]
    assert _box_of(boxes[7], 1) == [90, 0, 100, 10]
    assert _box_of(boxes[11], 1) == [90, 0, 100, 10]  # held after its last sighting


def test_when_hold_and_entry_overlap_the_nearer_sighting_wins() -> None:
    sightings: Sightings = {0: {1: (0, 0, 10, 10)}, 6: {1: (60, 0, 70, 10)}}
    boxes = dict(_run(LookAheadGapFiller(4, 4), 7, sightings))
    assert _box_of(boxes[2], 1) == [0, 0, 10, 10]
    assert _box_of(boxes[3], 1) == [0, 0, 10, 10]  # a tie goes to the earlier sighting
    assert _box_of(boxes[4], 1) == [60, 0, 70, 10]


def test_a_track_is_held_hold_frames_after_its_last_sighting() -> None:
    sightings: Sightings = {i: {3: BOX} for i in range(4)}
    out = _run(LookAheadGapFiller(0, 5), 15, sightings)
    assert _track_frames(out, 3) == list(range(9))


def test_a_track_is_filled_lookahead_frames_before_its_first_sighting() -> None:
    sightings: Sightings = {i: {3: BOX} for i in range(6, 9)}
    out = _run(LookAheadGapFiller(3, 0), 10, sightings)
    assert _track_frames(out, 3) == [3, 4, 5, 6, 7, 8]
    assert all(list(found.origins) == [Origin.PROPAGATED] for i, found in out if i in (3, 4, 5))


def test_live_mode_emits_at_once_and_only_holds() -> None:
    filler = LookAheadGapFiller(0, 2)
    assert [i for i, _ in filler.push(0, _regions({}))] == [0]
    assert [i for i, _ in filler.push(1, _regions({1: BOX}))] == [1]
    (ready,) = filler.push(2, _regions({}))
    assert _box_of(ready[1], 1) == list(BOX)
    assert filler.flush() == []


def test_fills_never_cross_a_scene_cut() -> None:
    sightings: Sightings = {2: {1: BOX}, 4: {1: BOX}, 8: {1: BOX}}
    out = _run(LookAheadGapFiller(3, 3), 12, sightings, cuts=frozenset({4, 7}))
    # with a hold, every frame is covered by a sighting of its own scene
    assert _track_frames(out, 1) == list(range(12))
    # without one, frame 3 (before the cut at 4) is neither entered from frame 4 nor interpolated
    # to it, and frames 5-6 (scene 4-6) are not interpolated to frame 8 of the next scene
    out_cut = _run(LookAheadGapFiller(3, 0), 12, sightings, cuts=frozenset({4, 7}))
    assert _track_frames(out_cut, 1) == [0, 1, 2, 4, 7, 8]


def test_untracked_regions_pass_through_and_are_not_filled() -> None:
    filler = LookAheadGapFiller(2, 2)
    untracked = Detections.create([BOX], [0.9], FACE)
    minus_one = Detections.create([BOX], [0.9], FACE, track_ids=[-1])
    out = dict(
        filler.push(0, untracked)
        + filler.push(1, Detections.empty())
        + filler.push(2, minus_one)
        + filler.flush()
    )
    assert out[0] is untracked and out[2] is minus_one
    assert len(out[1]) == 0


def test_filled_regions_sit_beside_regions_with_masks_and_keep_label_and_score() -> None:
    filler = LookAheadGapFiller(0, 1)
    filler.push(0, Detections.create([BOX], [0.7], ObjectClass.LICENSE_PLATE, track_ids=[4]))
    mask = np.zeros((1, 40, 50), np.bool_)
    mask[0, 1:5, 1:5] = True
    person = Detections.create([[1, 1, 5, 5]], [0.9], ObjectClass.PERSON, masks=mask, track_ids=[5])
    ((index, found),) = filler.push(1, person)
    assert index == 1
    assert [label.value for label in found.labels] == ["person", "plate"]
    assert found.scores.tolist() == pytest.approx([0.9, 0.7])
    assert found.masks is not None and found.masks.shape == (2, 40, 50) and not found.masks[1].any()


def test_flush_starts_afresh() -> None:
    filler = LookAheadGapFiller(3, 3)
    filler.push(0, _regions({1: BOX}))
    assert [i for i, _ in filler.flush()] == [0]
    ready = filler.push(0, _regions({}))  # a new stream may start at 0 again
    assert ready == [] and _track_frames(filler.flush(), 1) == []


def test_indices_must_increase() -> None:
    filler = LookAheadGapFiller(1, 1)
    filler.push(5, Detections.empty())
    with pytest.raises(ValueError, match="increase"):
        filler.push(5, Detections.empty())


@pytest.mark.parametrize(("lookahead", "hold"), [(-1, 0), (0, -1), (10_001, 0)])
def test_out_of_range_settings_are_refused(lookahead: int, hold: int) -> None:
    with pytest.raises(ConfigError):
        LookAheadGapFiller(lookahead, hold)
