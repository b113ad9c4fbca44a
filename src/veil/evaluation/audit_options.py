"""Settings of a privacy audit: what is attacked, how often in a video, and what needs a human look."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from veil.checks import check_range
from veil.errors import ConfigError
from veil.types import ObjectClass

__all__ = ["AUDITED_CLASSES", "DEFAULT_AUDIT_TARGETS", "LEAK_CLASSES", "AuditOptions"]

AUDITED_CLASSES = frozenset(
    {ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.TEXT, ObjectClass.PERSON}
)
"""Classes an audit can attack: faces (re-detection), plates and text (OCR), persons (re-identification)."""

LEAK_CLASSES = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.TEXT})
"""Classes whose leak rate is the share of items found or read again (persons: rank-1 re-identification)."""

DEFAULT_AUDIT_TARGETS = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE})
"""What ``veil anonymize`` hides unless told otherwise, so what an audit holds it to by default."""


@dataclass(frozen=True)
class AuditOptions:
    """How ``veil audit`` attacks anonymized media.

    Args:
        classes: what to attack (a subset of :data:`AUDITED_CLASSES`).
        targets: what the anonymizer was asked to hide: only these classes make the headline leak
            rate (and a bare ``--fail-over``); other classes found readable are listed as not targeted.
        models_dir: folder with the model files (else ``VEIL_MODELS_DIR``, then the cache).
        sample_interval_s: in videos, attack one frame per this many seconds (0: every frame). Each
            attacked frame costs about a second at 720p on two cores, so 1 s keeps the audit of a
            minute of 720p under three minutes; every decoded frame is still compared for size.
        face_scales: image scales the face detectors run at, on the original to find faces and on
            the output to attack them (2× finds faces of ~20 px).
        text_scale: the original is upscaled this much before the OCR pipeline looks for text on it
            (2×: far-away plates reach a readable size).
        uncertain_ratio: a face scored at least this share of the attack threshold on the original,
            but below it, is an uncertain face: not counted in the leak rate, listed for review.
        min_text_chars: a text reading needs at least this many letters or digits to count as
            identifying (a plate has 4–8).
        review_min_risk: frames whose risk reaches this go into the review list (1.0 is a leak).
        worst_frames: how many of the riskiest frames the report keeps as before/after thumbnails.
        threads: ONNX Runtime threads per model (0: automatic).
        identity: also run the identity attack on faces (dlib's face embedding, from the audit
            extra): is each anonymized face still its original person? Faces that are kept on
            purpose (the expression method) are judged by this, not by re-detection.
    """

    classes: frozenset[ObjectClass] = AUDITED_CLASSES
    targets: frozenset[ObjectClass] = DEFAULT_AUDIT_TARGETS
    models_dir: Path | None = None
    sample_interval_s: float = 1.0
    face_scales: tuple[float, ...] = (1.0, 2.0)
    text_scale: float = 2.0
    uncertain_ratio: float = 0.5
    min_text_chars: int = 4
    review_min_risk: float = 0.5
    worst_frames: int = 6
    threads: int = 0
    identity: bool = False

    def __post_init__(self) -> None:
        if not self.classes:
            raise ConfigError("classes is empty: name at least one of face, plate, text, person")
        unknown = self.classes - AUDITED_CLASSES
        if unknown:
            names = ", ".join(sorted(c.value for c in unknown))
            valid = ", ".join(sorted(c.value for c in AUDITED_CLASSES))
            raise ConfigError(f"cannot audit {names}; auditable classes: {valid}")
        if not self.targets:
            raise ConfigError("targets is empty: name what the anonymizer was asked to hide")
        check_range("sample_interval_s", self.sample_interval_s, 0.0, 3600.0)
        check_range("text_scale", self.text_scale, 0.25, 8.0)
        if not self.face_scales or any(not 0.25 <= s <= 8.0 for s in self.face_scales):
            raise ConfigError(f"face_scales={self.face_scales!r}: need at least one, each in [0.25, 8]")
        check_range("uncertain_ratio", self.uncertain_ratio, 0.05, 1.0)
        check_range("min_text_chars", self.min_text_chars, 1, 64)
        check_range("review_min_risk", self.review_min_risk, 0.0, 10.0)
        check_range("worst_frames", self.worst_frames, 0, 100)
        check_range("threads", self.threads, 0, 256)
