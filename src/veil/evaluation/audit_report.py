"""What an audit found: per class leak rates, per frame items, review ranges, and the riskiest frames."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from veil.evaluation.audit_frame import FrameAudit
from veil.evaluation.audit_options import LEAK_CLASSES, AuditOptions
from veil.evaluation.identity_attack import IdentitySummary
from veil.evaluation.reid_attack import chance_rank1
from veil.types import Image, ObjectClass

__all__ = [
    "AuditReport",
    "AuditedFile",
    "AuditedFrame",
    "ClassSummary",
    "PersonSummary",
    "ReviewRange",
    "WorstFrame",
]

_ORDER = (ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.TEXT, ObjectClass.PERSON)


@dataclass(frozen=True)
class AuditedFile:
    """One original/anonymized pair.

    Args:
        path: the pair's path relative to the audited folders (the file name for single files).
        kind: "image" or "video".
        width, height: frame size in pixels.
        frames: frames compared (decoded from both).
        attacked: frames the attacks ran on.
        frame_rate: frames per second (videos), else ``None``.
        step: a video's attacked frames are this many frames apart.
    """

    path: str
    kind: str
    width: int
    height: int
    frames: int
    attacked: int
    frame_rate: float | None = None
    step: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Return the file's facts as JSON-ready values."""
        return {
            "path": self.path,
            "kind": self.kind,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "attacked": self.attacked,
            "frame_rate": self.frame_rate,
            "step": self.step,
        }


@dataclass(frozen=True)
class AuditedFrame:
    """The result of attacking one frame of one file.

    Args:
        file: the file's relative path.
        index: the frame's index in the file (0 for an image).
        time_s: presentation time in seconds (videos), else ``None``.
        audit: the items found and attacked.
    """

    file: str
    index: int
    time_s: float | None
    audit: FrameAudit

    def to_dict(self) -> dict[str, Any]:
        """Return the frame and its items as JSON-ready values."""
        return {
            "file": self.file,
            "index": self.index,
            "time_s": None if self.time_s is None else round(self.time_s, 3),
            "risk": round(self.audit.risk, 3),
            "items": [item.to_dict() for item in self.audit.items],
        }


@dataclass(frozen=True)
class WorstFrame:
    """Thumbnails of one of the riskiest frames, before and after, items outlined."""

    file: str
    index: int
    time_s: float | None
    risk: float
    before: Image
    after: Image


@dataclass(frozen=True)
class ClassSummary:
    """Leak figures of one class over the whole audit.

    Args:
        label: the class.
        items: identifying objects found on the originals (confident ones).
        leaked: of those, found or read again on the outputs.
        uncertain: faces found on the originals only below the attack threshold (not in the rate).
        detail_mean, detail_max: high-frequency energy left in the items' boxes, output over original.
    """

    label: ObjectClass
    items: int
    leaked: int
    uncertain: int
    detail_mean: float | None
    detail_max: float | None

    @property
    def leak_rate(self) -> float | None:
        """Return leaked / items, or ``None`` when nothing identifying was found."""
        return self.leaked / self.items if self.items else None

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready values."""
        return {
            "items": self.items,
            "leaked": self.leaked,
            "leak_rate": _rounded(self.leak_rate),
            "uncertain": self.uncertain,
            "detail_mean": _rounded(self.detail_mean),
            "detail_max": _rounded(self.detail_max),
        }


@dataclass(frozen=True)
class PersonSummary:
    """Re-identification of persons: anonymized crops matched against the original crops of their frame.

    Args:
        queries: anonymized person crops compared (in frames with at least two persons).
        hits: crops whose strictly nearest original crop was the same person.
        chance: the rank-1 accuracy a guess would reach over the same galleries.
    """

    queries: int
    hits: int
    chance: float

    @property
    def rank1(self) -> float | None:
        """Return hits / queries, or ``None`` when no frame had two persons."""
        return self.hits / self.queries if self.queries else None

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready values."""
        return {
            "queries": self.queries,
            "rank1": _rounded(self.rank1),
            "chance": _rounded(self.chance),
            "hits": self.hits,
        }


@dataclass(frozen=True)
class ReviewRange:
    """Consecutive attacked frames of one file that need a human look, with their worst risk.

    Args:
        file: the file's relative path.
        first_index, last_index: the first and last attacked frame of the range.
        start_s, end_s: the time span covered (videos; ``None`` for images), end exclusive.
        risk: the highest frame risk in the range (1.0 or more: something leaked).
        leaks: leaked items in the range.
        uncertain: uncertain faces in the range.
    """

    file: str
    first_index: int
    last_index: int
    start_s: float | None
    end_s: float | None
    risk: float
    leaks: int
    uncertain: int

    def to_dict(self) -> dict[str, Any]:
        """Return the range as JSON-ready values."""
        return {
            "file": self.file,
            "first_frame": self.first_index,
            "last_frame": self.last_index,
            "start_s": _rounded(self.start_s),
            "end_s": _rounded(self.end_s),
            "risk": round(self.risk, 3),
            "leaks": self.leaks,
            "uncertain": self.uncertain,
        }


@dataclass
class AuditReport:
    """Everything one audit measured; built by :func:`veil.evaluation.audit.audit_paths`."""

    anonymized: str
    original: str
    options: AuditOptions
    files: list[AuditedFile] = field(default_factory=list)
    frames: list[AuditedFrame] = field(default_factory=list)
    worst: list[WorstFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def classes(self) -> list[ObjectClass]:
        """Return the audited classes in report order."""
        return [c for c in _ORDER if c in self.options.classes]

    def headline_classes(self) -> list[ObjectClass]:
        """Return the audited leak classes the anonymizer targeted: the ones the headline rate covers."""
        return [c for c in self.classes() if c in LEAK_CLASSES and c in self.options.targets]

    def untargeted_classes(self) -> list[ObjectClass]:
        """Return the audited leak classes the anonymizer was not asked to hide (reported, not rated)."""
        return [c for c in self.classes() if c in LEAK_CLASSES and c not in self.options.targets]

    def summary(self, label: ObjectClass) -> ClassSummary:
        """Return the leak figures of ``label``."""
        items = [i for f in self.frames for i in f.audit.items if i.label is label]
        confident = [i for i in items if i.confident]
        details = [i.detail for i in confident]
        return ClassSummary(
            label,
            items=len(confident),
            leaked=int(sum(i.leaked for i in confident)),
            uncertain=len(items) - len(confident),
            detail_mean=float(np.mean(details)) if details else None,
            detail_max=max(details) if details else None,
        )

    def identity(self) -> IdentitySummary | None:
        """Return the identity attack's figures, or None when it did not run."""
        if not self.options.identity:
            return None
        return IdentitySummary.of([f.audit.identity for f in self.frames])

    def persons(self) -> PersonSummary:
        """Return the re-identification figures."""
        galleries = [f.audit.person_gallery for f in self.frames if f.audit.person_gallery]
        hits = int(sum(i.leaked for f in self.frames for i in f.audit.items if i.label is ObjectClass.PERSON))
        return PersonSummary(queries=sum(galleries), hits=hits, chance=chance_rank1(galleries))

    def leak_rate(self, label: ObjectClass | None = None) -> float | None:
        """Return the leak rate of ``label`` (persons: rank-1 re-identification), or the headline.

        The headline (``label=None``) covers the targeted leak classes only: a shop sign left readable
        when text was not a target is not a leak of the anonymizer. ``None`` when nothing of that kind
        was found on the originals.
        """
        if label is ObjectClass.PERSON:
            return self.persons().rank1
        if label is not None:
            return self.summary(label).leak_rate
        summaries = [self.summary(c) for c in self.headline_classes()]
        items = sum(s.items for s in summaries)
        return sum(s.leaked for s in summaries) / items if items else None

    def limits_exceeded(self, limits: Mapping[ObjectClass | None, float]) -> list[str]:
        """Return one line per leak rate above its limit (key ``None``: all leak classes together)."""
        broken = []
        for label, limit in limits.items():
            rate = self.leak_rate(label)
            if rate is not None and rate > limit:
                name = "overall" if label is None else label.value
                broken.append(f"{name} leak rate {rate:.1%} is over the limit {limit:.1%}")
        return broken

    def review(self) -> list[ReviewRange]:
        """Return the runs of attacked frames at or above the review risk, riskiest first."""
        by_file: dict[str, list[AuditedFrame]] = {}
        for frame in self.frames:
            by_file.setdefault(frame.file, []).append(frame)
        steps = {f.path: (f.step, f.frame_rate) for f in self.files}
        ranges: list[ReviewRange] = []
        for name, frames in by_file.items():
            step, rate = steps.get(name, (1, None))
            risky = [frame.audit.risk >= self.options.review_min_risk for frame in frames]
            for is_risky, group in itertools.groupby(zip(risky, frames, strict=True), key=lambda p: p[0]):
                if is_risky:
                    ranges.append(_range(name, [frame for _, frame in group], step, rate))
        return sorted(ranges, key=lambda r: (-r.risk, r.file, r.first_index))

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready values (thumbnails left out)."""
        return {
            "anonymized": self.anonymized,
            "original": self.original,
            "options": {
                "classes": [c.value for c in self.classes()],
                "targets": sorted(c.value for c in self.options.targets),
                "text_scale": self.options.text_scale,
                "sample_interval_s": self.options.sample_interval_s,
                "face_scales": list(self.options.face_scales),
                "uncertain_ratio": self.options.uncertain_ratio,
                "min_text_chars": self.options.min_text_chars,
                "review_min_risk": self.options.review_min_risk,
                "identity": self.options.identity,
            },
            "leak_rate": _rounded(self.leak_rate()),
            "classes": {
                c.value: {
                    **(self.persons().to_dict() if c is ObjectClass.PERSON else self.summary(c).to_dict()),
                    "targeted": c in self.options.targets,
                }
                for c in self.classes()
            },
            "face_identity": None if (identity := self.identity()) is None else identity.to_dict(),
            "review": [r.to_dict() for r in self.review()],
            "files": [f.to_dict() for f in self.files],
            "frames": [f.to_dict() for f in self.frames],
            "notes": list(self.notes),
            "failures": list(self.failures),
            "seconds": round(self.seconds, 2),
        }


def _range(name: str, run: Sequence[AuditedFrame], step: int, rate: float | None) -> ReviewRange:
    items = [i for f in run for i in f.audit.items if i.label is not ObjectClass.PERSON]
    first, last = run[0], run[-1]
    end_s = None
    if last.time_s is not None:
        end_s = last.time_s + (step / rate if rate else 0.0)
    return ReviewRange(
        file=name,
        first_index=first.index,
        last_index=last.index,
        start_s=first.time_s,
        end_s=end_s,
        risk=max(f.audit.risk for f in run),
        leaks=int(sum(i.leaked for i in items)),
        uncertain=int(sum(not i.confident for i in items)),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
