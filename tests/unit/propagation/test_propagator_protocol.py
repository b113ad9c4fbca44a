from __future__ import annotations

import numpy as np

from veil.detections import Detections
from veil.propagation.base import GapFiller, NoGapFill, NoPropagation, Propagator
from veil.propagation.gap_fill import LookAheadGapFiller
from veil.propagation.optical_flow import FlowPropagator
from veil.types import Frame, ObjectClass


def _frame(index: int) -> Frame:
    return Frame(image=np.zeros((24, 32, 3), np.uint8), index=index)


def test_propagators_satisfy_the_protocol() -> None:
    assert isinstance(NoPropagation(), Propagator)
    assert isinstance(FlowPropagator(), Propagator)


def test_no_propagation_returns_the_detections_unchanged() -> None:
    found = Detections.create([[1, 2, 10, 12]], [0.9], ObjectClass.FACE)
    assert NoPropagation().update(_frame(0), found) is found


def test_no_propagation_returns_nothing_on_skipped_frames() -> None:
    propagator = NoPropagation()
    propagator.update(_frame(0), Detections.create([[1, 2, 10, 12]], [0.9], ObjectClass.FACE))
    assert len(propagator.update(_frame(1), None)) == 0


def test_gap_fillers_satisfy_the_protocol() -> None:
    assert isinstance(NoGapFill(), GapFiller)
    assert isinstance(LookAheadGapFiller(3, 3), GapFiller)


def test_no_gap_fill_returns_each_frame_at_once() -> None:
    found = Detections.create([[1, 2, 10, 12]], [0.9], ObjectClass.FACE)
    filler = NoGapFill()
    assert filler.push(4, found) == [(4, found)]
    assert filler.flush() == []
