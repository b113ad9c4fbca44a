"""Give decoded frames strictly increasing presentation timestamps, whatever the container stored."""

from __future__ import annotations

import enum
import heapq
import logging
from fractions import Fraction

__all__ = ["FrameClock", "TimingSource"]

_log = logging.getLogger(__name__)


class TimingSource(enum.Enum):
    """Where a stream's presentation times come from."""

    DECODER = "decoder"
    """The decoder's frame timestamps, as the container stored them (variable frame rate included)."""
    PACKETS = "packets"
    """The packets' decode timestamps, taken in ascending order (AVI: each chunk is one time slot, and
    the decoder's own guesses are shuffled behind B-frames)."""
    FRAME_INDEX = "frame-index"
    """Frame index × frame period (raw elementary streams, which store no times at all)."""


class FrameClock:
    """Stamp frames in presentation order with strictly increasing timestamps.

    With :attr:`TimingSource.PACKETS`, the reader hands every packet's decode timestamp to
    :meth:`offer`; the n-th frame out of the decoder then gets the n-th smallest of them, which is its
    slot in a container that stores one frame per slot (empty slots of a 25 fps AVI at 1/50 ticks
    included). A missing or non-increasing timestamp is replaced by the previous one plus one frame
    period.

    Args:
        frame_rate: nominal frames per second.
        time_base: the stream's time base; ``None`` when unknown.
        start_pts: first timestamp (in ``time_base``) when counting frame periods; ``None`` means 0.
        source: where the times come from.
    """

    def __init__(
        self,
        *,
        frame_rate: Fraction,
        time_base: Fraction | None,
        start_pts: int | None = None,
        source: TimingSource = TimingSource.DECODER,
    ) -> None:
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be positive, got {frame_rate}")
        if time_base is None:
            # Timestamps without a time base mean nothing: count in frame periods.
            time_base, source = 1 / frame_rate, TimingSource.FRAME_INDEX
        step = 1 / (frame_rate * time_base)
        if source is TimingSource.FRAME_INDEX and step.denominator != 1:
            # The time base cannot express one frame period in whole ticks: count in frame periods.
            start_s = (start_pts or 0) * time_base
            time_base = 1 / frame_rate
            step = Fraction(1)
            start_pts = round(start_s / time_base)
        self.time_base: Fraction = time_base
        """Time base of every timestamp :meth:`stamp` returns."""
        self.source = source
        self._step = max(1, round(step))
        self._start = start_pts or 0
        self._offered: list[int] = []
        self._last: int | None = None
        self._repaired = 0

    @property
    def repaired(self) -> int:
        """How many timestamps were missing or out of order and got replaced."""
        return self._repaired

    @property
    def frame_period_ticks(self) -> int:
        """One nominal frame period in :attr:`time_base` ticks (at least one)."""
        return self._step

    def offer(self, dts: int | None) -> None:
        """Note a demuxed packet's decode timestamp (used with :attr:`TimingSource.PACKETS`)."""
        if self.source is TimingSource.PACKETS and dts is not None:
            heapq.heappush(self._offered, dts)

    def stamp(self, index: int, pts: int | None) -> int:
        """Return the timestamp, in :attr:`time_base`, of frame ``index`` whose decoder said ``pts``."""
        if self.source is TimingSource.FRAME_INDEX:
            stamped = self._start + index * self._step
        else:
            candidate = pts
            if self.source is TimingSource.PACKETS:
                candidate = heapq.heappop(self._offered) if self._offered else None
            if candidate is not None and (self._last is None or candidate > self._last):
                stamped = candidate
            else:
                stamped = self._start + index * self._step if self._last is None else self._last + self._step
                if self._repaired == 0:
                    _log.warning(
                        "frame %d has a missing or non-increasing timestamp (%s); repairing", index, candidate
                    )
                self._repaired += 1
        self._last = stamped
        return stamped
