"""Plate text comparison, and the RapidOCR recognizer on a rendered plate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from veil.errors import ConfigError
from veil.evaluation.ocr_attack import (
    PlateReader,
    is_plate_candidate,
    is_read,
    levenshtein,
    normalize_plate,
    plate_similarity,
)
from veil.types import Image


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m5-xsx", "M5XSX"),
        ("W·053 011", "W053011"),
        ("粤SG:47471", "SG47471"),
        ("BB-751BH°", "BB751BH"),
        ("", ""),
    ],
)
def test_normalize_plate(text: str, expected: str) -> None:
    assert normalize_plate(text) == expected


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("ABC", "", 3), ("", "AB", 2), ("KITTEN", "SITTING", 3), ("RK708AI", "HRK708AI", 1)],
)
def test_levenshtein(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance
    assert levenshtein(b, a) == distance


@pytest.mark.parametrize(
    ("text", "truth", "read"),
    [
        ("M5-XSX", "M5XSX", True),  # punctuation dropped
        ("rk 755 aj", "RK755AJ", True),  # case and spaces
        ("PP-587A0", "PP587AO", True),  # O and 0 are one character
        ("S1819AK", "SI819AK", True),  # I and 1 too
        ("HRK·708A1", "RK708AI", True),  # one extra character: 1 − 1/7
        ("1T483213", "1T43213", True),
        ("RK755", "RK755AJ", False),  # two characters missing: 1 − 2/7 < 0.75
        ("FWE5", "FWE50", True),  # 1 − 1/5 = 0.8
        ("FW", "FWE50", False),
        ("", "RK755AJ", False),
        ("酷酷酷", "RK755AJ", False),
    ],
)
def test_is_read(text: str, truth: str, read: bool) -> None:
    assert is_read(text, truth) is read


@pytest.mark.parametrize(
    ("text", "candidate"),
    [
        ("OY09 FEU", True),  # UK
        ("M5 XSX", False),  # a UK cherished plate with one digit escapes the rule
        ("RK-755AJ", True),
        ("ABC1D23", True),  # Brazil (Mercosur)
        ("7ABC123", True),  # US
        ("W·053 011", False),  # one letter: the rule's price (a bare number with a prefix looks like this)
        ("WO53011", True),
        ("GOLF", False),  # a model badge: a word
        ("EXIT", False),
        ("61", False),  # a frame counter
        ("12345", False),  # only digits
        ("AB1", False),  # too short
        ("MOT20-08: RAW", False),  # 10 characters: a caption, not a plate
        ("A1B2", False),
        ("AB12CD345", False),  # 9
    ],
)
def test_is_plate_candidate(text: str, candidate: bool) -> None:
    assert is_plate_candidate(text) is candidate


def test_plate_similarity_is_floored_at_zero_and_needs_a_truth() -> None:
    assert plate_similarity("ABCDEFGHIJ", "XY") == 0.0
    assert plate_similarity("XY", "XY") == 1.0
    with pytest.raises(ConfigError, match="no letter or digit"):
        plate_similarity("AB", " - ")


def _plate_scene(text: str) -> tuple[Image, list[float]]:
    image = np.full((120, 320, 3), 90, np.uint8)
    cv2.rectangle(image, (40, 40), (280, 90), (255, 255, 255), -1)
    cv2.putText(image, text, (52, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3, cv2.LINE_AA)
    return image, [40.0, 40.0, 281.0, 91.0]


def test_plate_reader_reads_a_clear_plate_and_not_a_blurred_one() -> None:
    reader = PlateReader()
    image, box = _plate_scene("AB123CD")
    readings = reader.readings(image, box)
    assert [r.scale for r in readings] == [1.0, 2.0]
    assert is_read(reader.read(image, box), "AB123CD")
    assert is_read(reader.best_reading(image, box, "AB123CD").text, "AB123CD")
    blurred: Image = np.asarray(cv2.GaussianBlur(image, (0, 0), 12), np.uint8)
    assert not is_read(reader.best_reading(blurred, box, "AB123CD").text, "AB123CD")
    before = image.copy()
    reader.readings(image, box)
    assert np.array_equal(image, before)


def test_find_text_upscaled_returns_boxes_in_the_image_pixels() -> None:
    reader = PlateReader()
    image, box = _plate_scene("AB123CD")
    for scale in (1.0, 2.0):
        lines = [line for line in reader.find_text(image, scale) if is_read(line.text, "AB123CD")]
        assert len(lines) == 1, scale
        x1, y1, x2, y2 = lines[0].box_xyxy
        assert box[0] - 8 <= x1 < x2 <= box[2] + 8
        assert box[1] - 8 <= y1 < y2 <= box[3] + 8
    with pytest.raises(ConfigError):
        reader.find_text(image, 0.1)


def test_plate_reader_box_outside_image_reads_nothing() -> None:
    reader = PlateReader(scales=(1.0,))
    image, _ = _plate_scene("AB123CD")
    assert [(r.text, r.score) for r in reader.readings(image, [400, 10, 450, 30])] == [("", 0.0)]


@pytest.mark.parametrize("kwargs", [{"grow_ratio": -0.1}, {"scales": ()}, {"scales": (0.1,)}])
def test_plate_reader_rejects_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        PlateReader(**kwargs)  # type: ignore[arg-type]
