"""What a live run did, counted: frames read, dropped, anonymized and written, and their latency."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from veil.detections import Detections
from veil.types import ObjectClass

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


@dataclass
class LiveReport:
    """Counters for one live run.

    Every frame read is either dropped (before anonymization, never written) or anonymized;
    ``frames_written`` counts anonymized frames plus ``frames_repeated`` (the last anonymized picture
    written again in a dropped frame's place). ``frames_late`` left later than the latency budget.
    """

    source: str
    destination: str
    frames_read: int = 0
    frames_dropped: int = 0
    frames_detected: int = 0
    frames_propagated: int = 0
    frames_anonymized: int = 0
    frames_hidden_whole: int = 0
    frames_repeated: int = 0
    frames_written: int = 0
    frames_late: int = 0
    reconnects: int = 0
    latency: LatencyStats = field(default_factory=LatencyStats)
    regions: Counter[ObjectClass] = field(default_factory=Counter)
    ended_by: str = ""
    elapsed_s: float = 0.0

    def count_regions(self, detections: Detections) -> None:
        """Add one frame's regions to the per-class totals."""
        self.regions.update(detections.labels.tolist())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "source": self.source,
            "destination": self.destination,
            "frames_read": self.frames_read,
            "frames_dropped": self.frames_dropped,
            "frames_detected": self.frames_detected,
            "frames_propagated": self.frames_propagated,
            "frames_anonymized": self.frames_anonymized,
            "frames_hidden_whole": self.frames_hidden_whole,
            "frames_repeated": self.frames_repeated,
            "frames_written": self.frames_written,
            "frames_late": self.frames_late,
            "reconnects": self.reconnects,
            "latency": self.latency.to_dict(),
            "regions": {cls.value: n for cls, n in sorted(self.regions.items(), key=lambda kv: kv[0].value)},
            "ended_by": self.ended_by,
            "elapsed_s": round(self.elapsed_s, 3),
        }
