"""What ``veil eval`` measured per method: privacy recall, detection AP, SSIM, counting error, speed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veil.evaluation.eval_options import EvalMethod
from veil.types import ObjectClass

__all__ = ["EvalReport", "MethodResult", "PrivacyCount"]

UTILITY_CLASSES = (ObjectClass.PERSON, ObjectClass.VEHICLE)


@dataclass
class PrivacyCount:
    """Annotated objects of one class, and how many a method protected (hidden and not found or read)."""

    annotated: int = 0
    hidden: int = 0
    protected: int = 0

    @property
    def recall(self) -> float | None:
        """Return protected / annotated, or ``None`` with nothing annotated."""
        return self.protected / self.annotated if self.annotated else None


@dataclass
class MethodResult:
    """One method's figures over the data set.

    Args:
        method: the method.
        privacy: per annotated class, the counts behind privacy recall.
        ap: per utility class (person, vehicle), YOLOX-nano's AP50 on the outputs (``None``: no reference).
        ssim_outside: mean SSIM with the original outside the annotated regions (``None``: no such pixels).
        count_error: per utility class, the mean absolute difference of objects counted per image.
        seconds: time spent producing the outputs (Veil methods include the shared detection).
        megapixels: image area processed.
    """

    method: EvalMethod
    privacy: dict[ObjectClass, PrivacyCount] = field(default_factory=dict)
    ap: dict[ObjectClass, float | None] = field(default_factory=dict)
    ssim_outside: float | None = None
    count_error: dict[ObjectClass, float] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0
    images: int = 0

    @property
    def privacy_recall(self) -> float | None:
        """Return protected / annotated over every annotated class."""
        annotated = sum(c.annotated for c in self.privacy.values())
        return sum(c.protected for c in self.privacy.values()) / annotated if annotated else None

    @property
    def utility_ap(self) -> float | None:
        """Return the mean AP50 over the utility classes that have a reference."""
        values = [v for v in self.ap.values() if v is not None]
        return sum(values) / len(values) if values else None

    @property
    def ms_per_image(self) -> float:
        """Return the mean time per image in milliseconds."""
        return 1000.0 * self.seconds / self.images if self.images else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready values."""
        return {
            "method": self.method.value,
            "privacy_recall": _r(self.privacy_recall),
            "privacy": {
                c.value: {
                    "annotated": p.annotated,
                    "hidden": p.hidden,
                    "protected": p.protected,
                    "recall": _r(p.recall),
                }
                for c, p in self.privacy.items()
            },
            "ap50": {c.value: _r(v) for c, v in self.ap.items()},
            "ssim_outside": _r(self.ssim_outside),
            "count_error": {c.value: _r(v) for c, v in self.count_error.items()},
            "ms_per_image": round(self.ms_per_image, 1),
            "megapixels_per_s": _r(self.megapixels / self.seconds if self.seconds else None),
            "images": self.images,
        }


@dataclass
class EvalReport:
    """Figures of every evaluated method over one annotated data set."""

    dataset: str
    dataset_format: str
    images: int
    annotated: dict[ObjectClass, int]
    utility_reference: dict[ObjectClass, str]
    results: list[MethodResult] = field(default_factory=list)
    seconds: float = 0.0

    def header(self) -> list[str]:
        """Return the column names of :meth:`rows`."""
        privacy = [f"privacy {c.value}" for c in self.annotated]
        utility = [f"AP50 {c.value}" for c in UTILITY_CLASSES]
        counts = [f"count err {c.value}" for c in UTILITY_CLASSES]
        return ["method", *privacy, *utility, "SSIM outside", *counts, "ms/image"]

    def rows(self) -> list[list[str]]:
        """Return one row of formatted figures per method (the privacy–utility table)."""
        out = []
        for result in self.results:
            privacy = [
                _pct(result.privacy[c].recall if c in result.privacy else None) for c in self.annotated
            ]
            utility = [_num(result.ap.get(c)) for c in UTILITY_CLASSES]
            counts = [_num(result.count_error.get(c), 2) for c in UTILITY_CLASSES]
            out.append(
                [
                    result.method.value,
                    *privacy,
                    *utility,
                    _num(result.ssim_outside),
                    *counts,
                    f"{result.ms_per_image:.0f}",
                ]
            )
        return out

    def table_text(self) -> str:
        """Return the privacy–utility table as aligned plain text."""
        lines = [self.header(), *self.rows()]
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        return "\n".join(
            "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values."""
        return {
            "dataset": self.dataset,
            "format": self.dataset_format,
            "images": self.images,
            "annotated": {c.value: n for c, n in self.annotated.items()},
            "utility_reference": {c.value: v for c, v in self.utility_reference.items()},
            "methods": [r.to_dict() for r in self.results],
            "seconds": round(self.seconds, 2),
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
