"""Attack one anonymized frame where its original shows faces, text, plates or persons.

What counts as identifying is decided on the original with the same attack that then runs on the
output, so an unmodified copy leaks everything (100 %) and a fully masked one nothing (0 %). The attack
does not reuse what the anonymizer found: faces are looked for with both face detectors at 1× and 2×
and thresholds of their own, plates and text with RapidOCR's whole pipeline (its own text detector
settings, then its recognizer) on the original upscaled 2×, so whatever the anonymizer missed shows up
as a leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from veil.detection.base import Detector
from veil.detection.settings import DetectionConfig
from veil.detections import Detections
from veil.errors import UnsupportedFrameError
from veil.evaluation.annotations import AnnotatedFrame
from veil.evaluation.audit_options import AuditOptions
from veil.evaluation.datasets import BoxXYXY
from veil.evaluation.face_attack import DEFAULT_MIN_SCORES, FaceAttacker, FaceReDetector
from veil.evaluation.identity_attack import FaceIdentityAttack, IdentityMatches
from veil.evaluation.image_metrics import detail_ratio
from veil.evaluation.ocr_attack import (
    CANDIDATE_MIN_READ,
    MIN_SIMILARITY,
    PlateReader,
    is_plate_candidate,
    normalize_plate,
    plate_similarity,
)
from veil.evaluation.reid_attack import PersonEmbedder, rank1_hits
from veil.types import Image, ObjectClass

__all__ = ["AuditItem", "FrameAudit", "FrameAuditor"]

# YOLOX boxes below this score or persons shorter than this are too unsure or too small to identify.
_BODY_MIN_SCORE = 0.5
_PERSON_MIN_HEIGHT_PX = 48
# A face under 10 px across has eyes a pixel or two apart: nobody, person or model, can recognize it.
_FACE_MIN_SIDE_PX = 10
# How much of a reading must come back for it to count as read: half of a plate narrows it to a handful
# of cars; free text needs more before it says anything.
_MIN_READ = MappingProxyType(
    {ObjectClass.LICENSE_PLATE: CANDIDATE_MIN_READ, ObjectClass.TEXT: MIN_SIMILARITY}
)
# Uncertain items can need a look but are never leaks: their risk stays just under a leak's.
_UNCERTAIN_MAX_RISK = 0.99

# (class, box, the text to compare with, whether that text is the original's own reading)
_TextTarget = tuple[ObjectClass, BoxXYXY, str | None, bool]


@dataclass(frozen=True)
class AuditItem:
    """One identifying object found on the original frame, and what the attack achieved on the output.

    Args:
        label: face, plate, text or person.
        box_xyxy: where it is, in frame pixels.
        confident: found at the attack's own threshold on the original (else an uncertain face).
        leaked: found or read again on the output (persons: re-identified at rank 1).
        risk: how close the output came to giving it away; 1.0 or more is a leak.
        before: evidence on the original (faces: score over threshold; text: recognizer score).
        after: evidence on the output (faces: score over threshold; text: similarity to the original).
        detail: high-frequency energy left in the box, output over original.
        text_before: the original's reading (text and plates).
        text_after: the output's reading closest to it.
    """

    label: ObjectClass
    box_xyxy: tuple[float, float, float, float]
    confident: bool
    leaked: bool
    risk: float
    before: float
    after: float
    detail: float
    text_before: str | None = None
    text_after: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the item as JSON-ready values."""
        out: dict[str, object] = {
            "class": self.label.value,
            "box_xyxy": [round(v, 1) for v in self.box_xyxy],
            "confident": self.confident,
            "leaked": self.leaked,
            "risk": round(self.risk, 3),
            "before": round(self.before, 3),
            "after": round(self.after, 3),
            "detail": round(self.detail, 3),
        }
        if self.text_before is not None:
            out["text_before"] = self.text_before
            out["text_after"] = self.text_after
        return out


@dataclass(frozen=True)
class FrameAudit:
    """The items of one attacked frame.

    Args:
        items: every identifying object found on the original.
        person_gallery: how many persons the re-identification compared (0: fewer than two).
        identity: the identity attack's matches of the frame's confident faces (when it runs).
    """

    items: tuple[AuditItem, ...]
    person_gallery: int = 0
    identity: IdentityMatches = field(default_factory=IdentityMatches)

    @property
    def risk(self) -> float:
        """Return the highest risk of an item other than a person (persons are reported apart)."""
        return max((i.risk for i in self.items if i.label is not ObjectClass.PERSON), default=0.0)


class FrameAuditor:
    """Run the face, OCR and re-identification attacks on pairs of original and anonymized frames.

    Args:
        options: what to attack and the thresholds.
        faces, reader, bodies, embedder: ready attackers instead of the real models (tests).
    """

    def __init__(
        self,
        options: AuditOptions,
        *,
        faces: FaceReDetector | None = None,
        reader: PlateReader | None = None,
        bodies: Detector | None = None,
        embedder: PersonEmbedder | None = None,
        identity: FaceIdentityAttack | None = None,
    ) -> None:
        self._options = options
        self._thresholds: Mapping[FaceAttacker, float] = DEFAULT_MIN_SCORES
        classes = options.classes
        detection = DetectionConfig(intra_op_threads=options.threads)
        self._faces = faces
        if faces is None and ObjectClass.FACE in classes:
            probe = {a: s * options.uncertain_ratio for a, s in self._thresholds.items()}
            self._faces = FaceReDetector(
                options.models_dir, min_scores=probe, scales=options.face_scales, detection=detection
            )
        wants_text = bool({ObjectClass.TEXT, ObjectClass.LICENSE_PLATE} & classes)
        self._reader = reader if reader is not None or not wants_text else PlateReader()
        wants_bodies = ObjectClass.PERSON in classes
        self._bodies = (
            bodies if bodies is not None or not wants_bodies else _yolox(options.models_dir, detection)
        )
        self._identity = identity
        if identity is None and options.identity and ObjectClass.FACE in classes:
            self._identity = FaceIdentityAttack()
        self._embedder = embedder
        if embedder is None and ObjectClass.PERSON in classes:
            self._embedder = PersonEmbedder(options.models_dir, detection)

    def audit(self, original: Image, output: Image, truth: AnnotatedFrame | None = None) -> FrameAudit:
        """Return the items of ``original`` (RGB) and whether each is still found in ``output``.

        Without ``truth`` the attackers decide what is identifying on the original; with it, the
        annotated faces, plates, text and persons are the items (what ``veil eval`` and the privacy
        acceptance measure).
        """
        if original.shape != output.shape:
            raise UnsupportedFrameError(
                f"the anonymized frame is {output.shape[1]}×{output.shape[0]}, the original "
                f"{original.shape[1]}×{original.shape[0]}: they cannot be compared"
            )
        classes = self._options.classes
        items: list[AuditItem] = []
        if self._faces is not None and ObjectClass.FACE in classes:
            items += self._face_items(original, output, truth)
        bodies = Detections.empty()
        if self._bodies is not None and truth is None:
            found = self._bodies.detect(original)
            bodies = found[found.scores >= _BODY_MIN_SCORE]
        if self._reader is not None:
            lines = self._annotated_text(truth) if truth is not None else self._found_text(original)
            items += [
                self._text_item(original, output, label, box, text, own)
                for label, box, text, own in lines
                if label in classes
            ]
        gallery = 0
        if self._embedder is not None and ObjectClass.PERSON in classes:
            persons = bodies.of_class(ObjectClass.PERSON).boxes_xyxy
            if truth is not None:
                persons = _boxes(truth, ObjectClass.PERSON)
            person_items, gallery = self._person_items(original, output, persons)
            items += person_items
        identity = IdentityMatches()
        if self._identity is not None:
            faces = [i.box_xyxy for i in items if i.label is ObjectClass.FACE and i.confident]
            identity = self._identity.match(original, output, np.array(faces, np.float32).reshape(-1, 4))
        return FrameAudit(tuple(items), gallery, identity)

    def _face_items(self, original: Image, output: Image, truth: AnnotatedFrame | None) -> list[AuditItem]:
        assert self._faces is not None
        if truth is None:
            # Both detectors at every scale, so a face either of them sees at 2× is an item even when
            # the anonymizer's own detector (at its size and threshold) missed it.
            scan = self._faces.scan(original)
            boxes = scan.boxes_xyxy
            sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
            boxes = boxes[sides >= _FACE_MIN_SIDE_PX]
            if not len(boxes):
                return []
            # Before and after come from the same crop attack, so identical pixels score identically.
            before = np.asarray(self._faces.attack_around(original, boxes).strength(self._thresholds))
            kept = before >= self._options.uncertain_ratio  # what the crop attack itself barely sees is noise
            boxes, before = boxes[kept], before[kept]
            if not len(boxes):
                return []
            after = self._faces.attack_around(output, boxes).strength(self._thresholds)
        else:
            boxes = _boxes(truth, ObjectClass.FACE)
            if not len(boxes):
                return []
            before = np.asarray(self._faces.attack(original, boxes).strength(self._thresholds), np.float64)
            after = self._faces.attack(output, boxes).strength(self._thresholds)
        items = []
        for box, strength_before, strength_after in zip(boxes, before, after, strict=True):
            confident = bool(strength_before >= 1.0)
            detail = detail_ratio(original, output, box)
            risk = max(strength_after, detail)
            items.append(
                AuditItem(
                    ObjectClass.FACE,
                    _box(box),
                    confident=confident,
                    leaked=confident and strength_after >= 1.0,
                    risk=risk if confident else min(risk, _UNCERTAIN_MAX_RISK),
                    before=float(strength_before),
                    after=strength_after,
                    detail=detail,
                )
            )
        return items

    def _found_text(self, original: Image) -> list[_TextTarget]:
        """Return the lines RapidOCR reads on the upscaled original: plate candidates, and other text.

        A reading of 5–8 letters or digits with at least 2 of each is a plate wherever it is (a plate
        is identifying on or off a car, and no vehicle detector of the anonymizer decides it); other
        readings of at least ``min_text_chars`` letters or digits are text. A car badge ("GOLF") is
        text, not a plate.
        """
        assert self._reader is not None
        targets: list[_TextTarget] = []
        for line in self._reader.find_text(original, self._options.text_scale):
            if is_plate_candidate(line.text):
                targets.append((ObjectClass.LICENSE_PLATE, line.box_xyxy, line.text, False))
            elif len(normalize_plate(line.text)) >= self._options.min_text_chars:
                targets.append((ObjectClass.TEXT, line.box_xyxy, line.text, False))
        return targets

    def _annotated_text(self, truth: AnnotatedFrame) -> list[_TextTarget]:
        return [
            (record.label, box, text, False)
            for record in truth.records
            if record.label in (ObjectClass.LICENSE_PLATE, ObjectClass.TEXT)
            for box, text in zip(record.boxes_xyxy, record.texts, strict=True)
        ]

    def _text_item(
        self,
        original: Image,
        output: Image,
        label: ObjectClass,
        box: BoxXYXY,
        text: str | None,
        own_reading: bool,
    ) -> AuditItem:
        assert self._reader is not None
        if text is None or not normalize_plate(text):
            # An annotation without a transcription: what the original reads is the secret.
            text = max(self._reader.readings(original, box), key=lambda r: r.score).text
            own_reading = True
        if not normalize_plate(text):
            before_similarity = 0.0
        elif own_reading:
            before_similarity = 1.0
        else:
            # The same crop reading the output gets: identical pixels read identically.
            before_similarity = plate_similarity(self._reader.best_reading(original, box, text).text, text)
        min_read = _MIN_READ[label]
        confident = before_similarity >= min_read
        after = self._reader.best_reading(output, box, text) if confident else None
        similarity = plate_similarity(after.text, text) if after is not None else 0.0
        detail = detail_ratio(original, output, box)
        return AuditItem(
            label,
            box,
            confident=confident,
            leaked=confident and similarity >= min_read,
            risk=max(similarity / min_read, detail) if confident else 0.0,
            before=before_similarity,
            after=similarity,
            detail=detail,
            text_before=text,
            text_after=after.text if after is not None else "",
        )

    def _person_items(
        self, original: Image, output: Image, persons: npt.NDArray[np.float32]
    ) -> tuple[list[AuditItem], int]:
        assert self._embedder is not None
        tall = (persons[:, 3] - persons[:, 1]) >= _PERSON_MIN_HEIGHT_PX
        boxes = persons[tall]
        if len(boxes) < 2:
            return [], 0  # one person is always their own nearest match: nothing to measure
        hits = rank1_hits(self._embedder.embed(output, boxes), self._embedder.embed(original, boxes))
        items = [
            AuditItem(
                ObjectClass.PERSON,
                _box(box),
                confident=True,
                leaked=bool(hit),
                risk=0.0,
                before=1.0,
                after=1.0 if hit else 0.0,
                detail=detail_ratio(original, output, box),
            )
            for box, hit in zip(boxes, hits, strict=True)
        ]
        return items, len(boxes)


def _boxes(truth: AnnotatedFrame, label: ObjectClass) -> npt.NDArray[np.float32]:
    records = truth.of_class(label)
    if not records:
        return np.zeros((0, 4), np.float32)
    return np.concatenate([r.boxes for r in records]).reshape(-1, 4)


def _box(box: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (x1, y1, x2, y2)


def _yolox(models_dir: Path | None, detection: DetectionConfig) -> Detector:
    from veil.detection.yolox import YoloxDetector
    from veil.models.store import resolve_model

    return YoloxDetector(resolve_model("yolox_nano", models_dir), detection, min_score=_BODY_MIN_SCORE)
