"""Give live frames timestamps that start at zero, only increase, and stay true to capture time."""

from __future__ import annotations

import logging
from fractions import Fraction

__all__ = ["LiveClock"]

_log = logging.getLogger(__name__)

# A jump larger than this between two frames is a discontinuity (MPEG-TS wrap, a restarted sender),
# not time that passed: the stream continues one frame period after the last frame instead.
_MAX_GAP_S = 10


class LiveClock:
    """Stamp frames of one live run, across reconnections, in one time base.

    The first frame is at 0. A frame keeps its source timestamp's distance from the first frame of its
    connection; a source without timestamps is stamped by arrival time. After a reconnection the new
    connection starts where the wall clock says, so the pause shows in the output. A timestamp that is
    not after the previous one is placed one frame period after it; a jump of more than 10 s is a
    discontinuity and is closed up.

    Args:
        time_base: time base of every timestamp returned.
        frame_rate: nominal rate, for the one-period step used in repairs.
    """

    def __init__(self, time_base: Fraction, frame_rate: Fraction) -> None:
        if time_base <= 0 or frame_rate <= 0:
            raise ValueError(f"time_base and frame_rate must be positive, got {time_base}, {frame_rate}")
        self.time_base = time_base
        self._step = max(1, round(1 / (frame_rate * time_base)))
        self._offset = 0  # ticks added to this connection's times
        self._base: tuple[int | None, float] | None = None  # (first pts, first arrival) of the connection
        self._last: int | None = None
        self._last_arrival: float | None = None
        self.repaired = 0

    def reconnected(self) -> None:
        """Start a new connection: its first frame is placed by the wall clock after the last one."""
        self._base = None

    def stamp(self, pts: int | None, time_base: Fraction | None, arrival_s: float) -> int:
        """Return the timestamp, in :attr:`time_base`, of a frame the source stamped ``pts``."""
        if self._base is None:
            self._base = (pts, arrival_s)
            if self._last is not None and self._last_arrival is not None:
                pause = round((arrival_s - self._last_arrival) / self.time_base)
                self._offset = self._last + max(self._step, pause)
        first_pts, first_arrival = self._base
        if pts is None or time_base is None or first_pts is None:
            ticks = round((arrival_s - first_arrival) / self.time_base) + self._offset
        else:
            ticks = round((pts - first_pts) * time_base / self.time_base) + self._offset
        if self._last is not None:
            gap_s = (ticks - self._last) * self.time_base
            if gap_s > _MAX_GAP_S or gap_s < -_MAX_GAP_S:
                _log.warning("timestamp jumped by %.1f s: treating it as a discontinuity", float(gap_s))
                self._offset += self._last + self._step - ticks
                ticks = self._last + self._step
                self.repaired += 1
            elif gap_s <= 0:
                ticks = self._last + self._step
                self.repaired += 1
        self._last = ticks
        self._last_arrival = arrival_s
        return ticks
