"""Give decoded frames strictly increasing presentation timestamps, whatever the container stored."""

from __future__ import annotations

import logging
from fractions import Fraction

__all__ = ["FrameClock"]

_log = logging.getLogger(__name__)


class FrameClock:
    """Stamp frames in presentation order with strictly increasing timestamps.

    Containers with trustworthy timestamps keep them exactly (variable frame rate included). With
    ``synthesize`` (raw elementary streams, AVI — whose packets carry only decode order, so frames
    behind B-frames come out with shuffled times), every frame is placed at ``start + index`` frame
    periods. A missing or non-increasing timestamp in an otherwise timed stream is replaced by the
    previous one plus one frame period.

    Args:
        frame_rate: nominal frames per second.
        time_base: the stream's time base; ``None`` when unknown.
        start_pts: first timestamp (in ``time_base``) when synthesizing; ``None`` means 0.
        synthesize: ignore decoder timestamps and derive them from the frame index.
    """

    def __init__(
        self,
        *,
        frame_rate: Fraction,
        time_base: Fraction | None,
        start_pts: int | None = None,
        synthesize: bool = False,
    ) -> None:
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be positive, got {frame_rate}")
        if time_base is None:
            # Timestamps without a time base mean nothing: count in frame periods.
            time_base, synthesize = 1 / frame_rate, True
        step = 1 / (frame_rate * time_base)
        if synthesize and step.denominator != 1:
            # The time base cannot express one frame period in whole ticks: count in frame periods.
            start_s = (start_pts or 0) * time_base
            time_base = 1 / frame_rate
            step = Fraction(1)
            start_pts = round(start_s / time_base)
        self.time_base: Fraction = time_base
        """Time base of every timestamp :meth:`stamp` returns."""
        self._step = max(1, round(step))
        self._start = start_pts or 0
        self._synthesize = synthesize
        self._last: int | None = None
        self._repaired = 0

    @property
    def repaired(self) -> int:
        """How many decoder timestamps were missing or out of order and got replaced."""
        return self._repaired

    def stamp(self, index: int, pts: int | None) -> int:
        """Return the timestamp, in :attr:`time_base`, of frame ``index`` whose decoder said ``pts``."""
        if self._synthesize:
            stamped = self._start + index * self._step
        elif pts is not None and (self._last is None or pts > self._last):
            stamped = pts
        else:
            stamped = self._start + index * self._step if self._last is None else self._last + self._step
            if self._repaired == 0:
                _log.warning("frame %d has a missing or non-increasing timestamp (%s); repairing", index, pts)
            self._repaired += 1
        self._last = stamped
        return stamped
