"""What a run did, counted: the evidence that every written frame was anonymized."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from veil.detections import Detections
from veil.types import ObjectClass

__all__ = ["RunReport"]


@dataclass
class RunReport:
    """Counters for one run over one or more inputs.

    ``frames_detected`` ran the detector; ``frames_propagated`` got their regions carried from
    detection frames instead (video). ``frames_written`` never exceeds ``frames_anonymized``: a frame
    is counted as anonymized once it went through an anonymizer (or was hidden whole), and only such
    frames reach the writer. ``warnings`` name inputs that were used in part (damaged files accepted
    with ``accept_truncated``).
    """

    inputs: int = 0
    frames_read: int = 0
    frames_detected: int = 0
    frames_propagated: int = 0
    frames_anonymized: int = 0
    frames_hidden_whole: int = 0
    frames_written: int = 0
    regions: Counter[ObjectClass] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def count_regions(self, detections: Detections) -> None:
        """Add one frame's regions to the per-class totals."""
        self.regions.update(detections.labels.tolist())

    def merge(self, other: RunReport) -> None:
        """Add another run's counters to this one."""
        self.inputs += other.inputs
        self.frames_read += other.frames_read
        self.frames_detected += other.frames_detected
        self.frames_propagated += other.frames_propagated
        self.frames_anonymized += other.frames_anonymized
        self.frames_hidden_whole += other.frames_hidden_whole
        self.frames_written += other.frames_written
        self.regions.update(other.regions)
        self.failures.extend(other.failures)
        self.warnings.extend(other.warnings)
        self.elapsed_s += other.elapsed_s

    @property
    def frames_per_s(self) -> float:
        """Frames read per second of wall time."""
        return self.frames_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "inputs": self.inputs,
            "frames_read": self.frames_read,
            "frames_detected": self.frames_detected,
            "frames_propagated": self.frames_propagated,
            "frames_anonymized": self.frames_anonymized,
            "frames_hidden_whole": self.frames_hidden_whole,
            "frames_written": self.frames_written,
            "regions": {cls.value: n for cls, n in sorted(self.regions.items(), key=lambda kv: kv[0].value)},
            "failures": list(self.failures),
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
            "frames_per_s": round(self.frames_per_s, 2),
        }
