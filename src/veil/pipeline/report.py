"""What a run did, counted: the evidence that every written frame was anonymized."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from veil.detections import Detections
from veil.pipeline.profile import StageTime
from veil.types import ObjectClass

if TYPE_CHECKING:
    from veil.pipeline.frame_processor import ProcessedFrame
    from veil.pipeline.temporal import FrameRegions

__all__ = ["FrameCounts", "RunReport"]


@dataclass(kw_only=True)
class FrameCounts:
    """The frame counters every run that anonymizes frames keeps (files, folders, live streams).

    ``frames_detected`` ran the detector; ``frames_propagated`` got their regions carried from
    detection frames instead (video). A frame is counted as anonymized once it went through an
    anonymizer (or was hidden whole), and only such frames reach the writer.
    """

    frames_read: int = 0
    frames_detected: int = 0
    frames_propagated: int = 0
    frames_anonymized: int = 0
    frames_hidden_whole: int = 0
    frames_written: int = 0
    regions: Counter[ObjectClass] = field(default_factory=Counter)

    def count_regions(self, detections: Detections) -> None:
        """Add one frame's regions to the per-class totals."""
        self.regions.update(detections.labels.tolist())

    def count_schedule(self, item: FrameRegions, *, reviewed: bool = False) -> None:
        """Count whether the detector ran on a frame or its regions were carried from other frames.

        ``reviewed``: the regions came from a detections file, so none was carried.
        """
        if item.detected:
            self.frames_detected += 1
        elif not reviewed and item.regions is not None:
            self.frames_propagated += 1

    def count_anonymized(self, result: ProcessedFrame) -> None:
        """Count one anonymized frame and its regions."""
        self.frames_anonymized += 1
        self.frames_hidden_whole += int(result.hidden_whole)
        self.count_regions(result.detections)

    def merge_counts(self, other: FrameCounts) -> None:
        """Add another run's frame counters to these."""
        self.frames_read += other.frames_read
        self.frames_detected += other.frames_detected
        self.frames_propagated += other.frames_propagated
        self.frames_anonymized += other.frames_anonymized
        self.frames_hidden_whole += other.frames_hidden_whole
        self.frames_written += other.frames_written
        self.regions.update(other.regions)

    def counts_dict(self) -> dict[str, Any]:
        """Return the frame counters as JSON-ready values (regions by class name)."""
        return {
            "frames_read": self.frames_read,
            "frames_detected": self.frames_detected,
            "frames_propagated": self.frames_propagated,
            "frames_anonymized": self.frames_anonymized,
            "frames_hidden_whole": self.frames_hidden_whole,
            "frames_written": self.frames_written,
            "regions": {cls.value: n for cls, n in sorted(self.regions.items(), key=lambda kv: kv[0].value)},
        }


@dataclass(kw_only=True)
class RunReport(FrameCounts):
    """Counters for one run over one or more inputs.

    ``frames_written`` never exceeds ``frames_anonymized``. ``warnings`` name inputs that were used in
    part (damaged files accepted with ``accept_truncated``). ``stage_times`` is filled when the run
    was asked to profile (``RunOptions.profile``).
    """

    inputs: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    stage_times: dict[str, StageTime] = field(default_factory=dict)

    def merge(self, other: RunReport) -> None:
        """Add another run's counters to this one."""
        self.inputs += other.inputs
        self.merge_counts(other)
        self.failures.extend(other.failures)
        self.warnings.extend(other.warnings)
        self.elapsed_s += other.elapsed_s
        for name, times in other.stage_times.items():
            mine = self.stage_times.setdefault(name, StageTime())
            mine.wall_s += times.wall_s
            mine.cpu_s += times.cpu_s
            mine.calls += times.calls

    @property
    def frames_per_s(self) -> float:
        """Frames read per second of wall time."""
        return self.frames_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (``stages`` only when the run was profiled)."""
        summary: dict[str, Any] = {
            "inputs": self.inputs,
            **self.counts_dict(),
            "failures": list(self.failures),
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
            "frames_per_s": round(self.frames_per_s, 2),
        }
        if self.stage_times:
            summary["stages"] = {name: times.to_dict() for name, times in self.stage_times.items()}
        return summary
