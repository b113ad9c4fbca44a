from __future__ import annotations

import numpy as np
import pytest
from moving_scenes import MovingSquare, scene

from veil.detections import Detections
from veil.errors import ConfigError
from veil.propagation.optical_flow import FlowPropagator
from veil.types import Frame, ObjectClass, Origin

FACE = ObjectClass.FACE
SQUARE = MovingSquare(side=48, start=(60, 80), velocity=(4, 2))


def _found(*squares: MovingSquare, t: int, label: ObjectClass = FACE) -> Detections:
    return Detections.create(np.stack([s.box(t) for s in squares]), [0.9] * len(squares), label)


def _ids(found: Detections) -> list[int]:
    assert found.track_ids is not None
    return found.track_ids.tolist()


@pytest.mark.parametrize("pan", [(0, 0), (3, -2)])
@pytest.mark.parametrize("flow_long_side_px", [640, 160])
def test_box_follows_the_square_over_five_skipped_frames(
    pan: tuple[int, int], flow_long_side_px: int
) -> None:
    propagator = FlowPropagator(flow_long_side_px=flow_long_side_px)
    propagator.update(scene(0, (SQUARE,), pan=pan), _found(SQUARE, t=0))
    for t in range(1, 6):
        carried = propagator.update(scene(t, (SQUARE,), pan=pan), None)
        assert len(carried) == 1
        assert list(carried.origins) == [Origin.PROPAGATED]
    np.testing.assert_allclose(carried.boxes_xyxy[0], SQUARE.box(5), atol=2.0)


def test_a_small_fast_square_is_followed_too() -> None:
    # DIS alone reads this motion as about a quarter of what it is; template matching recovers it.
    fast = MovingSquare(side=40, start=(40, 150), velocity=(8, -3))
    propagator = FlowPropagator()
    propagator.update(scene(0, (fast,)), _found(fast, t=0))
    for t in range(1, 6):
        carried = propagator.update(scene(t, (fast,)), None)
    np.testing.assert_allclose(carried.boxes_xyxy[0], fast.box(5), atol=3.0)


def test_two_squares_keep_their_own_ids_and_motion() -> None:
    other = MovingSquare(side=40, start=(220, 40), velocity=(-3, 3), seed=11)
    propagator = FlowPropagator()
    first = propagator.update(scene(0, (SQUARE, other)), _found(SQUARE, other, t=0))
    assert list(first.origins) == [Origin.DETECTED] * 2
    ids = _ids(first)
    for t in range(1, 5):
        carried = propagator.update(scene(t, (SQUARE, other)), None)
    assert _ids(carried) == ids
    np.testing.assert_allclose(carried.boxes_xyxy, _found(SQUARE, other, t=4).boxes_xyxy, atol=2.0)
    again = propagator.update(scene(5, (SQUARE, other)), _found(other, SQUARE, t=5))
    assert _ids(again) == ids[::-1]
    assert list(again.origins) == [Origin.DETECTED] * 2


def test_a_track_missed_on_a_detection_frame_is_held_then_dropped() -> None:
    propagator = FlowPropagator(hold_frames=7)
    (track,) = _ids(propagator.update(scene(0, (SQUARE,)), _found(SQUARE, t=0)))
    for t in range(1, 5):
        propagator.update(scene(t, (SQUARE,)), None)
    held = propagator.update(scene(5, (SQUARE,)), Detections.empty())  # the detector missed it
    assert _ids(held) == [track]
    assert list(held.origins) == [Origin.PROPAGATED]
    np.testing.assert_allclose(held.boxes_xyxy[0], SQUARE.box(5), atol=2.0)
    for t in range(6, 8):
        assert _ids(propagator.update(scene(t, (SQUARE,)), None)) == [track]
    # frame 8 is 8 > 7 frames after the last detection: a detection frame that misses it drops it
    assert len(propagator.update(scene(8, (SQUARE,)), Detections.empty())) == 0
    assert len(propagator.update(scene(9, (SQUARE,)), None)) == 0


def test_between_detection_frames_tracks_are_carried_whatever_the_hold() -> None:
    propagator = FlowPropagator(hold_frames=0)
    propagator.update(scene(0, (SQUARE,)), _found(SQUARE, t=0))
    assert all(len(propagator.update(scene(t, (SQUARE,)), None)) == 1 for t in range(1, 10))


def test_a_held_region_inside_a_fresh_detection_of_its_class_is_dropped() -> None:
    propagator = FlowPropagator()
    small = Detections.create([[100, 100, 120, 120]], [0.9], FACE)
    propagator.update(scene(0, ()), small)
    # a box that contains the old one but overlaps it too little to continue its track
    large = Detections.create([[80, 80, 150, 150]], [0.9], FACE)
    out = propagator.update(scene(1, ()), large)
    assert len(out) == 1 and list(out.origins) == [Origin.DETECTED]


def test_a_held_region_of_another_class_is_kept() -> None:
    propagator = FlowPropagator()
    propagator.update(scene(0, ()), Detections.create([[100, 100, 120, 120]], [0.9], FACE))
    out = propagator.update(scene(1, ()), Detections.create([[80, 80, 150, 150]], [0.9], ObjectClass.PERSON))
    assert sorted(label.value for label in out.labels) == ["face", "person"]


def test_masks_and_polygons_move_with_their_box() -> None:
    x1, y1, x2, y2 = SQUARE.box(0).astype(int)
    mask = np.zeros((1, 240, 320), np.bool_)
    mask[0, y1:y2, x1 + 10 : x2 - 10] = True
    polygon = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)
    found = Detections.create(SQUARE.box(0)[None], [0.9], FACE, masks=mask, polygons=[polygon])
    propagator = FlowPropagator()
    propagator.update(scene(0, (SQUARE,)), found)
    for t in range(1, 4):
        carried = propagator.update(scene(t, (SQUARE,)), None)
    shift = np.array(SQUARE.velocity) * 3
    moved_polygon = carried.polygon(0)
    assert moved_polygon is not None
    np.testing.assert_allclose(moved_polygon, polygon + shift, atol=1.5)
    moved_mask = carried.mask(0)
    assert moved_mask is not None and moved_mask.shape == (240, 320)
    assert moved_mask.sum() == mask.sum()
    rows, cols = np.nonzero(moved_mask)
    old_rows, old_cols = np.nonzero(mask[0])
    np.testing.assert_allclose(
        [cols.mean(), rows.mean()], np.array([old_cols.mean(), old_rows.mean()]) + shift, atol=1.5
    )


def test_a_held_mask_comes_back_beside_fresh_detections_without_masks() -> None:
    mask = np.zeros((1, 240, 320), np.bool_)
    mask[0, 80:128, 60:108] = True
    propagator = FlowPropagator()
    propagator.update(scene(0, (SQUARE,)), Detections.create(SQUARE.box(0)[None], [0.9], FACE, masks=mask))
    other = Detections.create([[250, 20, 270, 40]], [0.9], FACE)
    out = propagator.update(scene(1, (SQUARE,)), other)
    assert out.masks is not None and out.masks.shape == (2, 240, 320)
    assert not out.masks[0].any() and out.masks[1].any()


def test_a_region_the_camera_turns_away_from_is_dropped() -> None:
    square = MovingSquare(side=30, start=(10, 100), velocity=(-8, 0))
    propagator = FlowPropagator()
    propagator.update(scene(0, (square,), pan=(-8, 0)), _found(square, t=0))
    counts = [len(propagator.update(scene(t, (square,), pan=(-8, 0)), None)) for t in range(1, 8)]
    assert counts[0] == 1 and counts[-1] == 0


def test_reset_and_a_new_frame_size_forget_the_tracks() -> None:
    propagator = FlowPropagator()
    propagator.update(scene(0, (SQUARE,)), _found(SQUARE, t=0))
    propagator.reset()
    assert len(propagator.update(scene(1, (SQUARE,)), None)) == 0
    propagator.update(scene(2, (SQUARE,)), _found(SQUARE, t=2))
    bigger = Frame(np.zeros((300, 400, 3), np.uint8), 3)
    assert len(propagator.update(bigger, None)) == 0


@pytest.mark.parametrize(("flow_long_side_px", "hold_frames"), [(32, 5), (5000, 5), (640, -1)])
def test_out_of_range_settings_are_refused(flow_long_side_px: int, hold_frames: int) -> None:
    with pytest.raises(ConfigError):
        FlowPropagator(flow_long_side_px=flow_long_side_px, hold_frames=hold_frames)


# --- Detections that land late (live input's detector on its own thread) ----------------------------


def test_a_late_detection_is_carried_from_its_frame_to_the_one_it_lands_on() -> None:
    newcomer = MovingSquare(side=44, start=(220, 60), velocity=(-5, 3), seed=5)
    propagator = FlowPropagator(history_frames=64)
    propagator.update(scene(0, (SQUARE, newcomer)), _found(SQUARE, t=0))
    for t in range(1, 5):
        propagator.update(scene(t, (SQUARE, newcomer)), None)
    # Found on frame 1, handed over with frame 5: both squares must be where they are on frame 5.
    landed = propagator.update(scene(4 + 1, (SQUARE, newcomer)), _found(SQUARE, newcomer, t=1), detected_on=1)
    assert len(landed) == 2
    assert set(landed.origins) == {Origin.PROPAGATED}  # moved, so hidden with the carried margin
    np.testing.assert_allclose(
        landed.boxes_xyxy[np.argsort(landed.boxes_xyxy[:, 0])],
        _found(SQUARE, newcomer, t=5).boxes_xyxy[np.argsort(_found(SQUARE, newcomer, t=5).boxes_xyxy[:, 0])],
        atol=3.0,
    )
    # The square tracked since frame 0 kept its id; the newcomer got a new one and is carried on.
    ids = _ids(landed)
    later = propagator.update(scene(6, (SQUARE, newcomer)), None)
    assert sorted(_ids(later)) == sorted(ids)


def test_a_late_mask_moves_with_its_box() -> None:
    propagator = FlowPropagator(history_frames=64)
    mask = np.zeros((240, 320), np.bool_)
    x0, y0, x1, y1 = SQUARE.box(0).astype(int)
    mask[y0:y1, x0:x1] = True
    found = Detections.create(SQUARE.box(0)[None], [0.9], ObjectClass.PERSON, masks=mask[None])
    propagator.update(scene(0, (SQUARE,)), None)
    for t in range(1, 4):
        propagator.update(scene(t, (SQUARE,)), None)
    landed = propagator.update(scene(4, (SQUARE,)), found, detected_on=0)
    assert landed.masks is not None
    ys, xs = np.nonzero(landed.masks[0])
    expected = SQUARE.box(4)
    assert abs(xs.min() - expected[0]) <= 3 and abs(ys.min() - expected[1]) <= 3


@pytest.mark.parametrize("history_frames", [0, 64])
def test_a_detection_from_before_the_remembered_frames_is_hidden_where_it_was_found(
    history_frames: int, caplog: pytest.LogCaptureFixture
) -> None:
    propagator = FlowPropagator(history_frames=history_frames)
    propagator.update(scene(100, (SQUARE,)), None)
    landed = propagator.update(scene(101, (SQUARE,)), _found(SQUARE, t=0), detected_on=0)
    assert len(landed) == 1
    np.testing.assert_allclose(landed.boxes_xyxy[0], SQUARE.box(0))
    assert "too late to carry" in caplog.text
