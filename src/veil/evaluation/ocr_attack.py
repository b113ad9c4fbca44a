"""Try to read annotated licence plates with the PP-OCRv4 recognizer shipped in ``rapidocr-onnxruntime``.

Only the recognition model runs, on the annotated plate's crop: the attacker is told where the plate
is, so a blur that merely fools a text detector does not count as hiding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from veil.errors import ConfigError, MissingExtraError
from veil.types import Image

__all__ = [
    "CANDIDATE_MIN_READ",
    "DEFAULT_GROW_RATIO",
    "DEFAULT_SCALES",
    "MIN_SIMILARITY",
    "PlateReader",
    "PlateReading",
    "TextLine",
    "is_plate_candidate",
    "is_read",
    "levenshtein",
    "normalize_plate",
    "plate_similarity",
]

MIN_SIMILARITY = 0.75
"""A reading counts as the plate when 1 − edits / len(truth) reaches this: one wrong character in 4–7."""

DEFAULT_GROW_RATIO = 0.1
"""The crop is the annotated box grown by this share of its size per side (boxes are tight)."""

DEFAULT_SCALES: tuple[float, ...] = (1.0, 2.0)
"""Crop scales read; 2× helps the recognizer on plates only ~16–25 px tall."""

CANDIDATE_MIN_READ = 0.5
"""A plate candidate found without annotation has leaked when a reading of the output gets at least this
share of its characters (similarity as :func:`plate_similarity`): half a plate narrows it to a handful of
cars, and a reading found without annotation is itself not exact."""

# A plate candidate: 5–8 letters or digits with at least 2 of each. Plates of the EU, UK, US and Brazil
# mix both; words (a "GOLF" badge, "EXIT") and bare numbers (a speed sign, a frame counter) do not.
_CANDIDATE_CHARS = (5, 8)
_CANDIDATE_MIN_EACH = 2

# Plates of many countries do not distinguish these, and a person holding a reading tries both.
_CONFUSABLES = str.maketrans({"O": "0", "I": "1"})


def normalize_plate(text: str) -> str:
    """Return ``text`` uppercased with everything but ASCII letters and digits dropped."""
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def levenshtein(a: str, b: str) -> int:
    """Return the number of single-character insertions, deletions and substitutions from ``a`` to ``b``."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def plate_similarity(text: str, truth: str) -> float:
    """Return 1 − Levenshtein / len(truth) of the normalized texts, O/0 and I/1 folded; at least 0.

    Raises:
        ConfigError: ``truth`` has no letter or digit.
    """
    want = normalize_plate(truth).translate(_CONFUSABLES)
    if not want:
        raise ConfigError(f"plate text {truth!r} has no letter or digit to compare against")
    got = normalize_plate(text).translate(_CONFUSABLES)
    return max(0.0, 1.0 - levenshtein(got, want) / len(want))


def is_plate_candidate(text: str) -> bool:
    """Return whether a reading looks like a plate: 5–8 letters or digits, at least 2 letters and 2 digits."""
    chars = normalize_plate(text)
    digits = sum(ch.isdigit() for ch in chars)
    low, high = _CANDIDATE_CHARS
    return (
        low <= len(chars) <= high
        and digits >= _CANDIDATE_MIN_EACH
        and len(chars) - digits >= _CANDIDATE_MIN_EACH
    )


def is_read(text: str, truth: str) -> bool:
    """Return whether the reading ``text`` gives the plate ``truth`` away (similarity ≥ MIN_SIMILARITY)."""
    return plate_similarity(text, truth) >= MIN_SIMILARITY


@dataclass(frozen=True)
class PlateReading:
    """What the recognizer read on one crop.

    Args:
        text: the text as recognized, unnormalized ("" when nothing was read).
        score: the recognizer's confidence in [0, 1].
        scale: the crop scale it was read at.
    """

    text: str
    score: float
    scale: float


@dataclass(frozen=True)
class TextLine:
    """A line of text RapidOCR's own detector found in a whole image, and what it read there.

    Args:
        box_xyxy: the bounding box of the detected quadrilateral, in image pixels.
        text: the reading, unnormalized.
        score: the recognizer's confidence in [0, 1].
    """

    box_xyxy: tuple[float, float, float, float]
    text: str
    score: float


class PlateReader:
    """Read plate crops with RapidOCR's PP-OCRv4 recognition model (detection and angle models unused).

    Args:
        grow_ratio: the crop is the box grown by this share of its size on every side.
        scales: crop scales to read at.

    Raises:
        MissingExtraError: ``rapidocr-onnxruntime`` is not installed.
    """

    def __init__(
        self, *, grow_ratio: float = DEFAULT_GROW_RATIO, scales: Sequence[float] = DEFAULT_SCALES
    ) -> None:
        if not 0.0 <= grow_ratio <= 1.0:
            raise ConfigError(f"grow_ratio={grow_ratio!r} is out of range [0, 1]")
        if not scales or any(not 0.25 <= s <= 8.0 for s in scales):
            raise ConfigError(f"scales={tuple(scales)!r}: need at least one, each in [0.25, 8]")
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise MissingExtraError(
                "reading plates needs rapidocr-onnxruntime: pip install 'veil[audit]'", extra="audit"
            ) from None
        self._engine: Any = RapidOCR()
        self._grow_ratio = grow_ratio
        self._scales = tuple(float(s) for s in scales)

    def readings(self, image: Image, box_xyxy: npt.ArrayLike) -> list[PlateReading]:
        """Return one reading of the plate at ``box_xyxy`` in ``image`` (H×W×3 RGB) per scale."""
        crop = _crop(image, np.asarray(box_xyxy, np.float32).reshape(4), self._grow_ratio)
        if crop is None:
            return [PlateReading("", 0.0, scale) for scale in self._scales]
        bgr = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)  # RapidOCR takes arrays as OpenCV's BGR
        out: list[PlateReading] = []
        for scale in self._scales:
            scaled = bgr
            if scale != 1.0:
                interpolation = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_AREA
                scaled = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=interpolation)
            result, _ = self._engine(scaled, use_det=False, use_cls=False, use_rec=True)
            text, score = (str(result[0][0]), float(result[0][1])) if result else ("", 0.0)
            out.append(PlateReading(text, score, scale))
        return out

    def find_text(self, image: Image, scale: float = 1.0) -> list[TextLine]:
        """Return the text lines RapidOCR's PP-OCRv4 detector finds in ``image`` (RGB) and their readings.

        The image is first resized by ``scale`` (2.0: small, far-away plates reach the detector and the
        recognizer at a readable size); boxes come back in ``image``'s pixels. RapidOCR then resizes so
        the short side is at least 736 px and drops readings it scores below 0.5.
        """
        if not 0.25 <= scale <= 8.0:
            raise ConfigError(f"scale={scale!r} is out of range [0.25, 8]")
        bgr = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if scale != 1.0:
            interpolation = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_AREA
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=interpolation)
        result, _ = self._engine(bgr, use_det=True, use_cls=False, use_rec=True)
        lines: list[TextLine] = []
        for quad, text, score in result or ():
            corners = np.asarray(quad, np.float32).reshape(-1, 2) / scale
            low, high = corners.min(axis=0), corners.max(axis=0)
            box = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
            lines.append(TextLine(box, str(text), float(score)))
        return lines

    def read(self, image: Image, box_xyxy: npt.ArrayLike) -> str:
        """Return the most confident reading of the plate at ``box_xyxy``."""
        return max(self.readings(image, box_xyxy), key=lambda r: r.score).text

    def best_reading(self, image: Image, box_xyxy: npt.ArrayLike, truth: str) -> PlateReading:
        """Return the reading closest to ``truth``: an attacker keeps whichever reading helps most."""
        return max(self.readings(image, box_xyxy), key=lambda r: plate_similarity(r.text, truth))


def _crop(image: Image, box: npt.NDArray[np.float32], grow_ratio: float) -> Image | None:
    height, width = image.shape[:2]
    grow_x = (box[2] - box[0]) * grow_ratio
    grow_y = (box[3] - box[1]) * grow_ratio
    x1 = max(0, int(np.floor(box[0] - grow_x)))
    y1 = max(0, int(np.floor(box[1] - grow_y)))
    x2 = min(width, int(np.ceil(box[2] + grow_x)))
    y2 = min(height, int(np.ceil(box[3] + grow_y)))
    if x2 <= x1 or y2 <= y1:
        return None
    return np.ascontiguousarray(image[y1:y2, x1:x2])
