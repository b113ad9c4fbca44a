"""The one stage loop: every item comes out once, in order; the sink's errors reach the caller."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from veil.anonymizers.fake import RecordingAnonymizer
from veil.detections import Detections
from veil.pipeline.config import PipelineConfig
from veil.pipeline.frame_processor import FrameProcessor, ProcessedFrame
from veil.pipeline.loop import run_stages, stage_outputs
from veil.pipeline.temporal import FrameRegions
from veil.types import Frame, ObjectClass


class HoldTwo:
    """An engine with a lookahead of two: each item comes out two items later, the last two at flush."""

    def __init__(self) -> None:
        self.held: list[int] = []

    def push(self, item: int) -> list[int]:
        self.held.append(item)
        return [self.held.pop(0)] if len(self.held) > 2 else []

    def flush(self) -> list[int]:
        out, self.held = self.held, []
        return out


def test_stage_outputs_yield_every_item_once_in_order_held_back_ones_last() -> None:
    assert list(stage_outputs(range(7), HoldTwo())) == list(range(7))
    assert list(stage_outputs([], HoldTwo())) == []


@pytest.mark.parametrize("writer_thread", [None, "veil-test-writer"])
def test_run_stages_hands_every_output_to_the_sink(writer_thread: str | None) -> None:
    seen: list[tuple[int, str]] = []
    run_stages(
        range(20),
        HoldTwo(),
        lambda item: seen.append((item, threading.current_thread().name)),
        writer_thread=writer_thread,
        writer_depth=2,
    )
    assert [item for item, _ in seen] == list(range(20))
    expected_thread = writer_thread or threading.current_thread().name
    assert {name for _, name in seen} == {expected_thread}


def test_a_sink_error_on_the_writer_thread_reaches_the_caller() -> None:
    def sink(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_stages(range(10**6), HoldTwo(), sink, writer_thread="veil-test-writer", writer_depth=2)


def face_processor() -> FrameProcessor:
    return FrameProcessor(PipelineConfig(targets=frozenset({ObjectClass.FACE})), None, RecordingAnonymizer())


class WholeFrame:
    """An engine without detection: every frame goes on at once, to be hidden whole by the sink."""

    def push(self, frame: Frame) -> list[FrameRegions]:
        return [FrameRegions(frame, None, detected=False)]

    def flush(self) -> list[FrameRegions]:
        return []


def test_a_whole_frame_method_is_an_engine_without_detection_in_the_same_loop() -> None:
    processor = FrameProcessor(
        PipelineConfig(targets=frozenset({ObjectClass.FACE})), None, RecordingAnonymizer()
    )
    rng = np.random.default_rng(3)
    frames = [Frame(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), index) for index in range(5)]
    originals = [frame.image.copy() for frame in frames]
    out: list[ProcessedFrame] = []
    run_stages(frames, WholeFrame(), lambda item: out.append(processor.anonymize(item)))
    assert len(out) == 5 and all(result.hidden_whole for result in out)
    for result, original, frame in zip(out, originals, frames, strict=True):
        assert not np.array_equal(result.image, original)
        np.testing.assert_array_equal(frame.image, original)  # the input is never modified
        assert len(result.detections) == 0


def test_a_frame_with_regions_goes_through_the_anonymizer() -> None:
    processor = FrameProcessor(
        PipelineConfig(targets=frozenset({ObjectClass.FACE})), None, RecordingAnonymizer()
    )
    image = np.zeros((48, 64, 3), np.uint8)
    face = Detections.create(np.array([[10, 10, 30, 30]], np.float32), [0.9], ObjectClass.FACE)
    result = processor.anonymize(FrameRegions(Frame(image, 0), face, detected=True))
    assert not result.hidden_whole and len(result.detections) == 1
    assert result.image[20, 20].any() and not result.image[45, 60].any()
