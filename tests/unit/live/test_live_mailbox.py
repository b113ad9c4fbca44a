"""The mailbox drops stale frames before anonymization and always keeps the newest."""

from __future__ import annotations

import numpy as np
import pytest

from veil.live.mailbox import CapturedFrame, CostEstimate, FrameMailbox
from veil.types import Frame


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def captured(index: int, arrival_s: float) -> CapturedFrame:
    return CapturedFrame(Frame(np.zeros((2, 2, 3), np.uint8), index, pts=index, time_base=None), arrival_s)


def indices(frames: tuple[CapturedFrame, ...]) -> list[int]:
    return [c.frame.index for c in frames]


def test_frames_within_budget_come_out_in_order_without_drops() -> None:
    clock = Clock()
    box = FrameMailbox(8, budget_s=0.1, cost=CostEstimate(), clock=clock)
    for i in range(3):
        box.put(captured(i, arrival_s=0.0))
    clock.now = 0.05
    taken = [box.take(0) for _ in range(3)]
    assert [t.captured.frame.index for t in taken if t is not None] == [0, 1, 2]
    assert all(t is not None and t.dropped == () for t in taken)


def test_stale_frames_are_dropped_while_a_newer_one_waits() -> None:
    clock = Clock()
    cost = CostEstimate()
    cost.observe(0.04)
    box = FrameMailbox(8, budget_s=0.1, cost=cost, clock=clock)
    for i, arrival in enumerate([0.0, 0.03, 0.07, 0.10]):
        box.put(captured(i, arrival))
    clock.now = 0.12  # frame 0 would leave at 0.16 (late), frame 1 at 0.13 (late), frame 2 at 0.09 (ok)
    taken = box.take(0)
    assert taken is not None
    assert taken.captured.frame.index == 2
    assert indices(taken.dropped) == [0, 1]


def test_the_newest_frame_is_kept_even_when_late() -> None:
    clock = Clock()
    box = FrameMailbox(8, budget_s=0.1, cost=CostEstimate(), clock=clock)
    box.put(captured(0, 0.0))
    box.put(captured(1, 0.01))
    clock.now = 5.0
    taken = box.take(0)
    assert taken is not None
    assert (taken.captured.frame.index, indices(taken.dropped)) == (1, [0])


def test_a_full_mailbox_drops_its_oldest_frame_and_reports_it_on_the_next_take() -> None:
    box = FrameMailbox(2, budget_s=10.0, cost=CostEstimate(), clock=Clock())
    for i in range(4):
        box.put(captured(i, 0.0))
    taken = box.take(0)
    assert taken is not None
    assert (taken.captured.frame.index, indices(taken.dropped)) == (2, [0, 1])
    second = box.take(0)
    assert second is not None
    assert (second.captured.frame.index, second.dropped) == (3, ())


def test_the_end_returns_none_after_the_waiting_frames() -> None:
    box = FrameMailbox(4, budget_s=1.0, cost=CostEstimate(), clock=Clock())
    box.put(captured(0, 0.0))
    box.end()
    first = box.take(0)
    assert first is not None and first.captured.frame.index == 0
    assert box.take(0) is None


def test_a_reader_error_is_raised_once_the_waiting_frames_are_taken() -> None:
    box = FrameMailbox(4, budget_s=1.0, cost=CostEstimate(), clock=Clock())
    box.put(captured(0, 0.0))
    box.end(OSError("lost"))
    assert box.take(0) is not None
    with pytest.raises(OSError, match="lost"):
        box.take(0)


def test_close_discards_and_counts_the_waiting_frames() -> None:
    box = FrameMailbox(2, budget_s=1.0, cost=CostEstimate(), clock=Clock())
    for i in range(3):
        box.put(captured(i, 0.0))
    assert box.close() == 3  # two waiting, one already overflowed
    assert box.closed
    assert box.take(0) is None


def test_cost_estimate_smooths_towards_new_measurements() -> None:
    cost = CostEstimate(weight=0.5)
    assert cost.seconds == 0.0
    cost.observe(0.1)
    cost.observe(0.3)
    assert cost.seconds == pytest.approx(0.2)
