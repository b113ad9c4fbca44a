"""Hand captured frames from the reader to the anonymizer, dropping the ones that would leave too late."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from veil.types import Frame

__all__ = ["CapturedFrame", "CostEstimate", "FrameMailbox", "Taken"]


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """A raw frame as it arrived: ``frame.index`` counts frames read; ``arrival_s`` is monotonic time."""

    frame: Frame
    arrival_s: float


@dataclass(frozen=True, slots=True)
class Taken:
    """The frame to anonymize next and the older frames dropped to make the budget (oldest first)."""

    captured: CapturedFrame
    dropped: tuple[CapturedFrame, ...]


class CostEstimate:
    """Smoothed seconds from taking a frame to its encoded picture leaving (updated by the writer thread)."""

    def __init__(self, weight: float = 0.2) -> None:
        self._weight = weight
        self._value: float | None = None
        self._lock = threading.Lock()

    @property
    def seconds(self) -> float:
        """The current estimate (0 before the first frame left)."""
        with self._lock:
            return 0.0 if self._value is None else self._value

    def observe(self, seconds: float) -> None:
        """Fold one measured cost into the estimate."""
        with self._lock:
            prev = self._value
            self._value = seconds if prev is None else prev + self._weight * (seconds - prev)


class FrameMailbox:
    """A bounded queue of captured frames that drops stale ones instead of delaying the stream.

    The reader :meth:`put` s every frame; when ``capacity`` frames already wait, the oldest is dropped.
    :meth:`take` returns the oldest waiting frame, after dropping every waiting frame that would leave
    later than ``budget_s`` after its arrival (``now - arrival + cost``) while a newer one waits: the
    newest frame is always kept, so a slow anonymizer shows every n-th frame rather than falling behind.
    Dropped frames are never anonymized nor written raw; the caller learns of them through
    :attr:`Taken.dropped`.
    """

    def __init__(
        self,
        capacity: int,
        budget_s: float,
        cost: CostEstimate,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._budget_s = budget_s
        self._cost = cost
        self._clock = clock
        self._waiting: deque[CapturedFrame] = deque()
        self._overflowed: list[CapturedFrame] = []
        self._ended = False
        self._closed = False
        self._error: BaseException | None = None
        self._ready = threading.Condition()

    @property
    def closed(self) -> bool:
        """Whether the consumer stopped taking frames (the reader should stop)."""
        return self._closed

    def put(self, captured: CapturedFrame) -> None:
        """Add a frame; drop the oldest waiting one if the mailbox is full."""
        with self._ready:
            if len(self._waiting) >= self._capacity:
                self._overflowed.append(self._waiting.popleft())
            self._waiting.append(captured)
            self._ready.notify()

    def end(self, error: BaseException | None = None) -> None:
        """Mark the end of the stream; ``error`` re-raises in :meth:`take` once the frames are taken."""
        with self._ready:
            self._ended = True
            self._error = error
            self._ready.notify()

    def close(self) -> int:
        """Stop: the consumer takes no more frames; return how many waiting frames were discarded."""
        with self._ready:
            self._closed = True
            discarded = len(self._waiting) + len(self._overflowed)
            self._waiting.clear()
            self._overflowed.clear()
            self._ready.notify_all()
            return discarded

    def take(self, timeout_s: float | None = None) -> Taken | None:
        """Return the next frame to anonymize, or ``None`` at the end of the stream (or on timeout)."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._waiting or self._ended or self._closed, timeout_s):
                return None
            if not self._waiting:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                return None
            dropped = self._overflowed
            self._overflowed = []
            now = self._clock()
            cost = self._cost.seconds
            while len(self._waiting) > 1 and now - self._waiting[0].arrival_s + cost > self._budget_s:
                dropped.append(self._waiting.popleft())
            return Taken(self._waiting.popleft(), tuple(dropped))
