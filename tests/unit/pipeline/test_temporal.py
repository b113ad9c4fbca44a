"""The temporal engine: each frame out once, in order; detection on schedule; gaps filled; fail closed."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import PrivacyError
from veil.geometry import iou_matrix
from veil.pipeline.config import FailMode, TemporalConfig
from veil.pipeline.temporal import FrameRegions, TemporalEngine
from veil.propagation.base import NoGapFill, NoPropagation
from veil.types import Frame, Image, ObjectClass, Origin

SIZE = (120, 160)
FACE_BOX = [60.0, 40.0, 90.0, 70.0]


def textured_frame(index: int) -> Frame:
    """A still textured scene: no motion, no cut, so only ``detect_every`` schedules detection."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, size=(*SIZE, 3), dtype=np.uint8)
    return Frame(image, index)


def face() -> Detections:
    return Detections.create(np.array([FACE_BOX], np.float32), [0.9], ObjectClass.FACE)


class ScriptedDetect:
    """Find the face on the frame indices listed, nothing elsewhere; remember where it was asked."""

    def __init__(self, seen_on: set[int], fail_on: set[int] | None = None) -> None:
        self.seen_on = seen_on
        self.fail_on = fail_on or set()
        self.asked: list[int] = []

    def __call__(self, image: Image, index: int) -> Detections:
        self.asked.append(index)
        if index in self.fail_on:
            raise RuntimeError("model crashed")
        return face() if index in self.seen_on else Detections.empty()


def keep_all(detections: Detections) -> Detections:
    return detections


def run(engine: TemporalEngine, count: int) -> list[FrameRegions]:
    out = []
    for index in range(count):
        out.extend(engine.push(textured_frame(index)))
    out.extend(engine.flush())
    return out


def settings(**changes: object) -> TemporalConfig:
    base: dict[str, object] = {"detect_every": 3, "change_threshold": None, "crowd_size": 0}
    base.update(changes)
    return TemporalConfig(**base)  # type: ignore[arg-type]


def test_every_frame_comes_out_once_in_order_after_the_lookahead() -> None:
    engine = TemporalEngine(ScriptedDetect(set()), keep_all, settings(lookahead_frames=4))
    first = [engine.push(textured_frame(i)) for i in range(4)]
    assert all(ready == [] for ready in first)  # each frame waits for 4 frames of future
    assert [r.frame.index for r in engine.push(textured_frame(4))] == [0]
    rest = [r.frame.index for i in range(5, 9) for r in engine.push(textured_frame(i))]
    rest += [r.frame.index for r in engine.flush()]
    assert rest == list(range(1, 9))


def test_forward_only_emits_each_frame_as_it_arrives() -> None:
    engine = TemporalEngine(ScriptedDetect({0}), keep_all, settings(lookahead_frames=0))
    for index in range(5):
        ready = engine.push(textured_frame(index))
        assert [r.frame.index for r in ready] == [index]
    assert engine.flush() == []


def test_detector_runs_on_the_schedule_only() -> None:
    detect = ScriptedDetect(set())
    out = run(TemporalEngine(detect, keep_all, settings(detect_every=3)), 10)
    assert detect.asked == [0, 3, 6, 9]
    assert [r.frame.index for r in out if r.detected] == [0, 3, 6, 9]
    assert engine_counts(out) == (4, 6)


def engine_counts(out: list[FrameRegions]) -> tuple[int, int]:
    detected = sum(r.detected for r in out)
    return detected, len(out) - detected


def test_a_face_missed_between_two_sightings_is_hidden_on_every_frame_between() -> None:
    # Seen on 0 and 6, missed on the detection frame 3, and hold 0: only the look-ahead can bridge it.
    detect = ScriptedDetect({0, 6})
    out = run(
        TemporalEngine(detect, keep_all, settings(detect_every=3, hold_frames=0, lookahead_frames=6)), 7
    )
    assert len(out) == 7
    for item in out:
        assert item.regions is not None
        assert iou_matrix(item.regions.boxes_xyxy, np.array([FACE_BOX], np.float32)).max() > 0.95
    frame_3 = out[3].regions
    assert frame_3 is not None and set(frame_3.origins) == {Origin.PROPAGATED}


def test_a_face_is_hidden_before_its_first_detection_within_the_lookahead() -> None:
    detect = ScriptedDetect({3, 6})  # appears (undetected) from frame 1 on; first seen at 3
    out = run(TemporalEngine(detect, keep_all, settings(hold_frames=0, lookahead_frames=2)), 7)
    hidden = [r.frame.index for r in out if r.regions is not None and len(r.regions)]
    assert hidden == [1, 2, 3, 4, 5, 6]  # frame 0 is 3 frames before: beyond the look-ahead of 2


def test_without_lookahead_the_gap_is_not_bridged() -> None:
    detect = ScriptedDetect({0, 6})
    out = run(TemporalEngine(detect, keep_all, settings(hold_frames=0, lookahead_frames=0)), 7)
    hidden = [r.frame.index for r in out if r.regions is not None and len(r.regions)]
    # Flow carries the face to frames 1-2; frame 3 detects nothing and hold 0 drops it until 6.
    assert hidden == [0, 1, 2, 6]


def test_selection_decides_what_is_tracked() -> None:
    out = run(TemporalEngine(ScriptedDetect({0, 3}), lambda d: d[[False] * len(d)], settings()), 4)
    assert all(r.regions is not None and len(r.regions) == 0 for r in out)


def test_a_detector_error_aborts_by_default() -> None:
    engine = TemporalEngine(ScriptedDetect({0}, fail_on={3}), keep_all, settings())
    with pytest.raises(PrivacyError, match="frame 3: detection failed"):
        run(engine, 6)


def test_a_detector_error_hides_the_frame_whole_in_hide_frame_mode() -> None:
    detect = ScriptedDetect({0, 6}, fail_on={3})
    out = run(TemporalEngine(detect, keep_all, settings(), fail_mode=FailMode.HIDE_FRAME), 7)
    failed = [r.frame.index for r in out if r.regions is None]
    assert failed == [3]
    assert not out[3].detected
    assert [len(r.regions) for r in out if r.regions is not None] == [1] * 6


def test_a_crowd_is_merged_into_one_region() -> None:
    boxes = np.array([[10.0 + 12 * i, 20.0, 20.0 + 12 * i, 60.0] for i in range(11)], np.float32)
    persons = Detections.create(boxes, [0.9] * 11, ObjectClass.PERSON)
    engine = TemporalEngine(
        lambda image, index: persons, keep_all, settings(crowd_size=10, lookahead_frames=0)
    )
    (item,) = engine.push(textured_frame(0))
    assert item.regions is not None and len(item.regions) == 1
    np.testing.assert_allclose(item.regions.boxes_xyxy[0], [10.0, 20.0, 140.0, 60.0])


def test_a_scene_cut_forces_detection() -> None:
    detect = ScriptedDetect(set())
    engine = TemporalEngine(detect, keep_all, settings(detect_every=50, lookahead_frames=0))
    engine.push(textured_frame(0))
    engine.push(textured_frame(1))
    other = np.random.default_rng(99).integers(0, 255, size=(*SIZE, 3), dtype=np.uint8)
    (item,) = engine.push(Frame(other, 2))
    assert item.detected
    assert detect.asked == [0, 2]


def test_the_engine_takes_its_propagator_and_gap_filler_as_the_protocols() -> None:
    # Nothing carried, nothing delayed: only detection frames get the face, each frame at once.
    engine = TemporalEngine(
        ScriptedDetect({0, 3}),
        keep_all,
        settings(lookahead_frames=15, hold_frames=15),
        propagator=NoPropagation(),
        gap_filler=NoGapFill(),
    )
    ready = [engine.push(textured_frame(i)) for i in range(6)]
    assert [[r.frame.index for r in batch] for batch in ready] == [[i] for i in range(6)]
    assert [len(batch[0].regions or ()) for batch in ready] == [1, 0, 0, 1, 0, 0]
    assert engine.flush() == []
