"""What a live run did, counted: frames read, dropped, anonymized and written, and their latency."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from veil.pipeline.report import FrameCounts

__all__ = ["LatencyStats", "LiveReport"]

_KEPT_SAMPLES = 100_000  # about an hour at 30 fps; older samples leave the percentiles


@dataclass
class LatencyStats:
    """Added latency per written frame: from the raw frame's arrival to its anonymized packet leaving."""

    samples_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_KEPT_SAMPLES))
    max_ms: float = 0.0
    count: int = 0

    def add(self, latency_ms: float) -> None:
        """Record one frame's latency."""
        self.samples_ms.append(latency_ms)
        self.max_ms = max(self.max_ms, latency_ms)
        self.count += 1

    def percentile(self, q: float) -> float:
        """Return the ``q``-th percentile in ms (0 when nothing was measured)."""
        if not self.samples_ms:
            return 0.0
        return float(np.percentile(np.fromiter(self.samples_ms, float), q))

    def to_dict(self) -> dict[str, float]:
        """Return p50, p95 and max in ms."""
        return {
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "max_ms": round(self.max_ms, 1),
        }


@dataclass(kw_only=True)
class LiveReport(FrameCounts):
    """Counters for one live run.

    Every frame read is either dropped (before anonymization, never written) or anonymized;
    ``frames_written`` counts anonymized frames plus ``frames_repeated`` (the last anonymized picture
    written again in a dropped frame's place). ``frames_late`` left later than the latency budget.
    """

    source: str
    destination: str
    frames_dropped: int = 0
    frames_repeated: int = 0
    frames_late: int = 0
    reconnects: int = 0
    latency: LatencyStats = field(default_factory=LatencyStats)
    ended_by: str = ""
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "source": self.source,
            "destination": self.destination,
            **self.counts_dict(),
            "frames_dropped": self.frames_dropped,
            "frames_repeated": self.frames_repeated,
            "frames_late": self.frames_late,
            "reconnects": self.reconnects,
            "latency": self.latency.to_dict(),
            "ended_by": self.ended_by,
            "elapsed_s": round(self.elapsed_s, 3),
        }
