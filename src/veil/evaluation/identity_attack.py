"""Recognize faces after anonymization with dlib's ResNet face embedding (the identity attack).

The attacker holds the original faces and asks two questions of each anonymized one: is it still the
same person by dlib's own rule (embedding distance under 0.6), and is its own original the nearest of
the frame's faces (rank 1)? Re-detection asks whether a face is still *there*; this asks whether it is
still *someone*: a method that keeps a face (expression-keeping) must pass this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.anonymizers.face_landmarks import FaceLandmarker
from veil.types import Image

__all__ = ["SAME_PERSON_DISTANCE", "FaceIdentityAttack", "IdentityMatches", "IdentitySummary"]

SAME_PERSON_DISTANCE = 0.6
"""dlib's threshold: two embeddings nearer than this are the same person (99.38 % on LFW, dlib's figure)."""


@dataclass(frozen=True)
class IdentityMatches:
    """Per face of one frame: embedding distance to its own original, and whether that original was nearest.

    Args:
        distances: distance of each anonymized face to its own original.
        nearest_is_own: per face, whether its own original is strictly the nearest of the frame's
            originals; empty when the frame has fewer than two faces (nothing to rank).
    """

    distances: tuple[float, ...] = ()
    nearest_is_own: tuple[bool, ...] = ()


@dataclass(frozen=True)
class IdentitySummary:
    """The identity attack over a whole audit.

    Args:
        compared: faces whose anonymized embedding was compared with their original's.
        same_person: of those, how many were still under dlib's same-person distance.
        queries: faces ranked against the other faces of their frame.
        rank1_hits: of those, how many had their own original nearest.
        chance: the rank-1 rate a guess would reach over the same frames.
    """

    compared: int
    same_person: int
    queries: int
    rank1_hits: int
    chance: float

    @property
    def same_person_rate(self) -> float | None:
        """Return same_person / compared, or None when no face was compared."""
        return self.same_person / self.compared if self.compared else None

    @property
    def rank1(self) -> float | None:
        """Return rank1_hits / queries, or None when no frame had two faces."""
        return self.rank1_hits / self.queries if self.queries else None

    def to_dict(self) -> dict[str, float | int | None]:
        """Return the summary as JSON-ready values."""
        return {
            "compared": self.compared,
            "same_person": self.same_person,
            "same_person_rate": _rounded(self.same_person_rate),
            "queries": self.queries,
            "rank1": _rounded(self.rank1),
            "chance": _rounded(self.chance),
        }

    @classmethod
    def of(cls, frames: Sequence[IdentityMatches]) -> IdentitySummary:
        """Return the summary of the frames' matches."""
        distances = [d for f in frames for d in f.distances]
        ranked = [f for f in frames if f.nearest_is_own]
        return cls(
            compared=len(distances),
            same_person=sum(d < SAME_PERSON_DISTANCE for d in distances),
            queries=sum(len(f.nearest_is_own) for f in ranked),
            rank1_hits=sum(sum(f.nearest_is_own) for f in ranked),
            # Each frame of n ranked faces contributes one expected hit by chance.
            chance=len(ranked) / sum(len(f.nearest_is_own) for f in ranked) if ranked else 0.0,
        )


class FaceIdentityAttack:
    """Compare faces before and after anonymization with dlib's 128-d ResNet embedding.

    Args:
        landmarker: the dlib models (the ``audit`` extra brings them); built when not given.
    """

    def __init__(self, landmarker: FaceLandmarker | None = None) -> None:
        self._landmarker = landmarker or FaceLandmarker()

    def match(self, original: Image, output: Image, boxes_xyxy: npt.ArrayLike) -> IdentityMatches:
        """Return how recognizable each face of ``boxes_xyxy`` (N×4) still is in ``output``."""
        boxes = np.asarray(boxes_xyxy, np.float32).reshape(-1, 4)
        if not len(boxes):
            return IdentityMatches()
        before = np.array([self._landmarker.embedding(original, box) for box in boxes])
        after = np.array([self._landmarker.embedding(output, box) for box in boxes])
        distances = np.linalg.norm(after[:, None] - before[None], axis=2)
        own = np.diag(distances).copy()
        nearest: tuple[bool, ...] = ()
        if len(boxes) >= 2:
            others = distances + np.diag(np.full(len(boxes), np.inf))
            nearest = tuple(bool(v) for v in own < others.min(axis=1))
        return IdentityMatches(tuple(float(d) for d in own), nearest)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
