"""Try to find annotated faces again in an anonymized image with two independent face detectors.

The attack is deliberately stronger than a detector at its defaults: low score thresholds, and each
detector also runs on a 2× upscaled copy so small or softened faces still reach its receptive field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.base import Detector
from veil.detection.centerface import CenterFaceDetector
from veil.detection.settings import DetectionConfig
from veil.detection.yunet import YuNetDetector
from veil.errors import ConfigError
from veil.evaluation.matching import match_matrix, matched_scores
from veil.geometry import clip_boxes, nms, scale_boxes
from veil.models.store import resolve_model
from veil.types import Image

__all__ = [
    "DEFAULT_CONTEXT_RATIO",
    "DEFAULT_MIN_SCORES",
    "DEFAULT_SCALES",
    "FaceAttacker",
    "FaceHits",
    "FaceReDetector",
    "FaceScan",
]


class FaceAttacker(enum.Enum):
    """A face detector used to look for faces after anonymization; the value is its model key."""

    YUNET = "yunet"
    CENTERFACE = "centerface"


DEFAULT_MIN_SCORES: Mapping[FaceAttacker, float] = MappingProxyType(
    # Below the usual operating points (YuNet 0.6–0.9, CenterFace 0.5) so borderline faces count as
    # found, yet high enough that chance texture does not: every annotated face of the originals is
    # found and nothing more on a known anonymizer's output (figures: docs/tuning.md, "Audit attackers").
    {FaceAttacker.YUNET: 0.5, FaceAttacker.CENTERFACE: 0.4}
)

# Detections of one face by two detectors or at two scales overlap at least this much.
_SAME_FACE_IOU = 0.4

DEFAULT_SCALES: tuple[float, ...] = (1.0, 2.0)
"""Image scales each detector runs at; 2× lets faces of ~20 px reach the detectors' smallest anchors."""

DEFAULT_CONTEXT_RATIO = 1.0
"""A crop attacked around a face is its box grown by its own size on every side: the whole head and
some shoulders, the context face detectors are trained with."""

_UPSCALE_UP_TO_PX = 96  # a crop's face is upscaled only while it stays at most this many pixels across

_Found = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class FaceHits:
    """Per annotated face and attacking detector, the best score of a detection that found it.

    Args:
        scores: attacker → one score per annotated face, 0.0 where that detector did not find it.
    """

    scores: Mapping[FaceAttacker, tuple[float, ...]]

    def found_by(self, attacker: FaceAttacker) -> list[bool]:
        """Return, per annotated face, whether ``attacker`` found it."""
        return [score > 0.0 for score in self.scores[attacker]]

    def found_by_any(self) -> list[bool]:
        """Return, per annotated face, whether any attacker found it."""
        per_attacker = [self.found_by(a) for a in self.scores]
        return [any(column) for column in zip(*per_attacker, strict=True)]

    def found_at(self, min_scores: Mapping[FaceAttacker, float]) -> list[bool]:
        """Return, per face, whether some attacker scored it at least its ``min_scores`` entry."""
        per_attacker = [
            [score >= min_scores.get(attacker, DEFAULT_MIN_SCORES[attacker]) for score in scores]
            for attacker, scores in self.scores.items()
        ]
        return [any(column) for column in zip(*per_attacker, strict=True)]

    def strength(self, min_scores: Mapping[FaceAttacker, float]) -> list[float]:
        """Return, per face, the best score over the attackers as a share of each one's threshold.

        1.0 or more means found at ``min_scores``; 0.5 means half-way to being found.
        """
        per_attacker = [
            [score / min_scores.get(attacker, DEFAULT_MIN_SCORES[attacker]) for score in scores]
            for attacker, scores in self.scores.items()
        ]
        return [max(column) for column in zip(*per_attacker, strict=True)]


@dataclass(frozen=True)
class FaceScan:
    """Every face the attackers find in one image, and how strongly each attacker finds each.

    Args:
        boxes_xyxy: (N, 4) faces, detections of one face by several attackers or scales merged.
        hits: per attacker, the best score of its detections matching each face.
    """

    boxes_xyxy: npt.NDArray[np.float32]
    hits: FaceHits


class FaceReDetector:
    """Look for annotated faces with YuNet and CenterFace at several scales.

    Args:
        models_dir: folder with the model files (else ``VEIL_MODELS_DIR``, then the cache).
        min_scores: lowest detection score counted, per attacker (default :data:`DEFAULT_MIN_SCORES`).
        scales: image scales to run at (default :data:`DEFAULT_SCALES`).
        detection: ONNX Runtime settings.
        detectors: ready detectors to attack with instead of loading YuNet and CenterFace (tests,
            studies); their own thresholds apply and ``min_scores`` is ignored.
    """

    def __init__(
        self,
        models_dir: Path | None = None,
        *,
        min_scores: Mapping[FaceAttacker, float] = DEFAULT_MIN_SCORES,
        scales: Sequence[float] = DEFAULT_SCALES,
        detection: DetectionConfig | None = None,
        detectors: Mapping[FaceAttacker, Detector] | None = None,
    ) -> None:
        if not scales or any(not 0.25 <= s <= 8.0 for s in scales):
            raise ConfigError(f"scales={tuple(scales)!r}: need at least one, each in [0.25, 8]")
        self._scales = tuple(float(s) for s in scales)
        if detectors is not None:
            if not detectors:
                raise ConfigError("detectors is empty: give at least one attacking detector")
            self._detectors = dict(detectors)
            return
        wanted = {a: min_scores.get(a, DEFAULT_MIN_SCORES[a]) for a in FaceAttacker}
        for attacker, score in wanted.items():
            # A threshold of 0 would make "found" (best score > 0) ambiguous with "not found".
            if not 0.0 < score <= 1.0:
                raise ConfigError(f"min_scores[{attacker.value}]={score!r} is out of range (0, 1]")
        config = detection or DetectionConfig()
        self._detectors = {
            FaceAttacker.YUNET: YuNetDetector(
                resolve_model(FaceAttacker.YUNET.value, models_dir),
                config,
                min_score=wanted[FaceAttacker.YUNET],
            ),
            FaceAttacker.CENTERFACE: CenterFaceDetector(
                resolve_model(FaceAttacker.CENTERFACE.value, models_dir),
                config,
                min_score=wanted[FaceAttacker.CENTERFACE],
            ),
        }

    def attack(self, image: Image, truth_xyxy: npt.NDArray[np.float32]) -> FaceHits:
        """Return which of the annotated faces ``truth_xyxy`` (N×4 xyxy) each detector finds in ``image``."""
        return _hits(self._detect_all(image), truth_xyxy)

    def scan(self, image: Image, scales: Mapping[FaceAttacker, Sequence[float]] | None = None) -> FaceScan:
        """Return every face any attacker finds in ``image``, with each attacker's score for each.

        Runs each detector once per scale (``scales`` per attacker, else the attacker's own); use it
        where no annotation says where the faces are (an audit of unannotated footage).
        """
        found = self._detect_all(image, scales)
        boxes = np.concatenate([b for runs in found.values() for b, _ in runs]).reshape(-1, 4)
        scores = np.concatenate([s for runs in found.values() for _, s in runs])
        merged = _merge_same_faces(boxes, scores)
        return FaceScan(merged, _hits(found, merged))

    def attack_around(
        self, image: Image, truth_xyxy: npt.ArrayLike, context_ratio: float = DEFAULT_CONTEXT_RATIO
    ) -> FaceHits:
        """Return which faces of ``truth_xyxy`` each detector finds in crops of ``image`` around them.

        Each crop is the face's box grown by ``context_ratio`` of its size per side, attacked at every
        scale: far cheaper than :meth:`attack` on a large frame with few faces, and at least as strong,
        since a crop upscales the face further within the same input size.
        """
        truth = np.asarray(truth_xyxy, np.float32).reshape(-1, 4)
        height, width = image.shape[:2]
        scores: dict[FaceAttacker, list[float]] = {a: [] for a in self._detectors}
        for box in truth:
            grown = clip_boxes(scale_boxes(box[None], context_ratio), width, height)[0]
            x1, y1 = int(np.floor(grown[0])), int(np.floor(grown[1]))
            x2, y2 = max(x1 + 1, int(np.ceil(grown[2]))), max(y1 + 1, int(np.ceil(grown[3])))
            crop = np.ascontiguousarray(image[y1:y2, x1:x2])
            offset = np.array([x1, y1, x1, y1], np.float32)
            side = float(min(box[2] - box[0], box[3] - box[1]))
            # Upscaling helps faces smaller than the detectors' comfortable size only; it is skipped for
            # larger ones, whose crops would grow to full-frame cost.
            scales = [s for s in self._scales if s <= 1.0 or side * s <= _UPSCALE_UP_TO_PX]
            wanted = dict.fromkeys(self._detectors, scales or [1.0])
            found = {
                a: [(b + offset, s) for b, s in runs] for a, runs in self._detect_all(crop, wanted).items()
            }
            for attacker, per_box in _hits(found, box[None]).scores.items():
                scores[attacker].append(per_box[0])
        return FaceHits(MappingProxyType({a: tuple(s) for a, s in scores.items()}))

    def _detect_all(
        self, image: Image, scales: Mapping[FaceAttacker, Sequence[float]] | None = None
    ) -> dict[FaceAttacker, list[_Found]]:
        return {
            attacker: [
                _detect_at_scale(detector, image, scale)
                for scale in (scales.get(attacker, self._scales) if scales is not None else self._scales)
            ]
            for attacker, detector in self._detectors.items()
        }

    def find(self, image: Image) -> npt.NDArray[np.float32]:
        """Return every face either detector finds in ``image`` at any scale (N×4 xyxy, overlaps merged).

        This is the reference an attack is measured against when no annotation exists (video).
        """
        boxes, scores = [], []
        for detector in self._detectors.values():
            for scale in self._scales:
                found_boxes, found_scores = _detect_at_scale(detector, image, scale)
                boxes.append(found_boxes)
                scores.append(found_scores)
        all_boxes = np.concatenate(boxes).reshape(-1, 4).astype(np.float32)
        all_scores = np.concatenate(scores).astype(np.float32)
        if len(all_boxes) == 0:
            return all_boxes
        return all_boxes[nms(all_boxes, all_scores, _SAME_FACE_IOU)]

    def refound(self, image: Image, truth_xyxy: npt.NDArray[np.float32]) -> list[bool]:
        """Return, per annotated face, whether either detector finds it again in ``image``."""
        return self.attack(image, truth_xyxy).found_by_any()


def _merge_same_faces(
    boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Return one box per face: best score first, dropping boxes that find, or are found by, a kept one.

    Plain IoU suppression keeps a tight and a loose box of one face apart; the matching rule of
    :func:`~veil.evaluation.matching.match_matrix` (IoU or containment) joins them.
    """
    kept: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if kept:
            box = boxes[index : index + 1]
            others = boxes[kept]
            if match_matrix(box, others).any() or match_matrix(others, box).any():
                continue
        kept.append(int(index))
    return np.asarray(boxes[kept], np.float32).reshape(-1, 4)


def _hits(found: Mapping[FaceAttacker, Sequence[_Found]], truth_xyxy: npt.ArrayLike) -> FaceHits:
    truth = np.asarray(truth_xyxy, np.float32).reshape(-1, 4)
    scores: dict[FaceAttacker, tuple[float, ...]] = {}
    for attacker, runs in found.items():
        best = np.zeros(len(truth), np.float32)
        for boxes, found_scores in runs:
            best = np.maximum(best, matched_scores(truth, boxes, found_scores))
        scores[attacker] = tuple(float(s) for s in best)
    return FaceHits(MappingProxyType(scores))


def _detect_at_scale(
    detector: Detector, image: Image, scale: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Return the boxes (in ``image``'s pixels) and scores found in ``image`` scaled by ``scale``."""
    if scale == 1.0:
        found = detector.detect(image)
        return found.boxes_xyxy, found.scores
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_AREA
    resized: Image = np.ascontiguousarray(cv2.resize(image, size, interpolation=interpolation), np.uint8)
    found = detector.detect(resized)
    factors = np.array([width / size[0], height / size[1]] * 2, np.float32)
    return found.boxes_xyxy * factors, found.scores
