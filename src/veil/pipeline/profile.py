"""Per-stage wall and CPU time of a run (``veil anonymize --profile``): where the frame budget goes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["StageClock", "StageTime"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class StageTime:
    """Time one stage took over a run.

    Args:
        wall_s: seconds between entering and leaving the stage, summed over its calls.
        cpu_s: CPU seconds of the thread running it, summed (stages run on threads of their own, so a
            stage's CPU time is its thread's: native code that spawns threads of its own is not counted).
        calls: how many times it ran (frames, for most stages).
    """

    wall_s: float = 0.0
    cpu_s: float = 0.0
    calls: int = 0

    def to_dict(self) -> dict[str, float | int]:
        """Return the times as JSON-ready values (milliseconds per call beside the totals)."""
        per_call = 1000 * self.wall_s / self.calls if self.calls else 0.0
        return {
            "wall_s": round(self.wall_s, 4),
            "cpu_s": round(self.cpu_s, 4),
            "calls": self.calls,
            "wall_ms_per_call": round(per_call, 3),
        }


class StageClock:
    """Sum the wall and thread CPU time of named stages, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, StageTime] = {}

    @contextlib.contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Time the block as one call of ``stage``."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - wall, time.thread_time() - cpu)

    def add(self, stage: str, wall_s: float, cpu_s: float, calls: int = 1) -> None:
        """Add one measured call (or ``calls``) of ``stage``."""
        with self._lock:
            entry = self._times.setdefault(stage, StageTime())
            entry.wall_s += wall_s
            entry.cpu_s += cpu_s
            entry.calls += calls

    def timed(self, stage: str, function: Callable[[T], R]) -> Callable[[T], R]:
        """Return ``function`` timed as ``stage`` at each call."""

        def run(item: T) -> R:
            with self.measure(stage):
                return function(item)

        return run

    def timed_iter(self, stage: str, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, timing the making of each as ``stage`` (a decoder's work happens in ``next``)."""
        iterator = iter(items)
        while True:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                item = next(iterator)
            except StopIteration:
                return
            self.add(stage, time.perf_counter() - wall, time.thread_time() - cpu)
            yield item

    def times(self) -> dict[str, StageTime]:
        """Return a copy of the times so far, by stage, in the order the stages first ran."""
        with self._lock:
            return {name: StageTime(t.wall_s, t.cpu_s, t.calls) for name, t in self._times.items()}
