"""Per-key request budgets: a token bucket per key, refilled continuously."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Allow each key ``burst`` requests at once and ``per_minute`` on average."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self._per_minute = per_minute
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: float | None = None) -> float:
        """Spend one token of ``key``; return 0 when allowed, else the seconds until one is available."""
        rate = (per_minute or self._per_minute) / 60.0
        burst = max(self._burst, 1)
        now = self._clock()
        with self._lock:
            if key not in self._buckets and len(self._buckets) >= self._max_keys:
                self._forget(now)
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate

    def waiting(self, key: str, per_minute: float | None = None) -> float:
        """Return the seconds until ``key`` has a token again (0 when it has one), spending nothing."""
        rate = (per_minute or self._per_minute) / 60.0
        now = self._clock()
        with self._lock:
            if key not in self._buckets:
                return 0.0
            tokens, last = self._buckets[key]
        tokens = min(float(max(self._burst, 1)), tokens + (now - last) * rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate

    def _forget(self, now: float) -> None:
        # Keys unseen long enough to have refilled carry nothing; if all are busy, the oldest half go.
        refill_s = max(self._burst, 1) / ((self._per_minute or 1.0) / 60.0)
        stale = [k for k, (_, last) in self._buckets.items() if now - last >= refill_s]
        if len(stale) < len(self._buckets) // 2:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            stale = by_age[: len(by_age) // 2]
        for key in stale:
            del self._buckets[key]
