"""The region methods of the menu leave no face to find again and no plate to read, and nothing else changes.

Faces: the 18 dlib PASCAL VOC faces, at full size and shrunk to 0.35× (13-32 px, where the methods'
floors do the hiding), grown by the policy's 15 % margin and hidden in their ellipse; YuNet (≥ 0.5) and
CenterFace (≥ 0.4) then look for them at 1× and 2× (:class:`FaceReDetector`). Plates: the 50 OpenALPR EU
plates, hidden in their boxes grown the same way, then read by RapidOCR's PP-OCRv4 recognizer on the
annotated crop at 1× and 2×. Both attacks are first shown to work on the originals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from veil.anonymizers.abstraction import Abstraction, AbstractionStyle
from veil.anonymizers.base import Anonymizer
from veil.anonymizers.cartoon import Cartoon
from veil.anonymizers.false_colour import FalseColour
from veil.anonymizers.token import Token
from veil.anonymizers.warp import Warp
from veil.detections import Detections
from veil.evaluation.datasets import AnnotatedImage, load_rgb, read_dlib_xml, read_openalpr_dir
from veil.evaluation.face_attack import FaceReDetector
from veil.evaluation.ocr_attack import PlateReader
from veil.pipeline.config import PrivacyPolicy
from veil.pipeline.policy import apply_policy
from veil.regions import union_mask
from veil.types import Image, ObjectClass

pytestmark = pytest.mark.integration

# Fixed secrets, so a failure can be reproduced; the warp is also tried under other secrets below.
METHODS: dict[str, Callable[[], Anonymizer]] = {
    "cartoon": Cartoon,
    "false-colour": FalseColour,
    "warp": lambda: Warp(secret=b"w" * 32),
    "abstraction-label": Abstraction,
    "abstraction-silhouette": lambda: Abstraction(AbstractionStyle.SILHOUETTE),
    "abstraction-outline": lambda: Abstraction(AbstractionStyle.OUTLINE),
    "token": lambda: Token(key=b"k" * 32),
}
SCALES = (1.0, 0.35)
MIN_FACES_FOUND_ON_ORIGINALS = 16  # of 18, at either scale (test_blur_strength measures the same)
MIN_PLATES_READ_ON_ORIGINALS = 50
MAX_PLATES_READ_AFTER = 1  # the acceptance bar of veil's default method


def _hidden(anonymizer: Anonymizer, image: Image, boxes: np.ndarray, label: ObjectClass) -> Image:
    found = Detections.create(boxes, np.ones(len(boxes)), label, track_ids=np.arange(len(boxes)))
    grown = apply_policy(found, PrivacyPolicy(margin_ratio=0.15), frozenset({label}), image.shape[:2])
    result = anonymizer.apply(image, grown)
    outside = ~union_mask(grown, image.shape[:2])
    assert (result[outside] == image[outside]).all(), "pixels outside every region changed"
    return result


def _scaled(item: AnnotatedImage, scale: float) -> tuple[Image, np.ndarray]:
    rgb = load_rgb(item.image_path)
    if scale != 1.0:
        rgb = np.asarray(cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)
    return np.ascontiguousarray(rgb), item.boxes * scale


@pytest.fixture(scope="module")
def faces(data_dir: Path) -> dict[float, list[tuple[str, Image, np.ndarray]]]:
    items = read_dlib_xml(data_dir / "faces" / "dlib_pascal_voc" / "training.xml")
    assert sum(len(item.boxes_xyxy) for item in items) == 18
    return {s: [(item.image_path.name, *_scaled(item, s)) for item in items] for s in SCALES}


@pytest.fixture(scope="module")
def attacker(models_dir: Path) -> FaceReDetector:
    return FaceReDetector(models_dir)


@pytest.fixture(scope="module")
def plates(data_dir: Path) -> list[tuple[str, Image, np.ndarray, tuple[str, ...]]]:
    items = read_openalpr_dir(data_dir / "plates" / "openalpr_eu")
    return [(item.image_path.name, load_rgb(item.image_path), item.boxes, item.texts) for item in items]


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


@pytest.mark.parametrize("scale", SCALES)
def test_the_face_attack_finds_the_originals(
    faces: dict[float, list[tuple[str, Image, np.ndarray]]], attacker: FaceReDetector, scale: float
) -> None:
    found = sum(sum(attacker.attack(rgb, boxes).found_by_any()) for _, rgb, boxes in faces[scale])
    assert found >= MIN_FACES_FOUND_ON_ORIGINALS, f"only {found} of 18 faces found: the attack is broken"


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("method", list(METHODS))
def test_no_face_is_found_again(
    faces: dict[float, list[tuple[str, Image, np.ndarray]]],
    attacker: FaceReDetector,
    method: str,
    scale: float,
) -> None:
    anonymizer = METHODS[method]()
    leaks: list[str] = []
    for name, rgb, boxes in faces[scale]:
        hits = attacker.attack(_hidden(anonymizer, rgb, boxes, ObjectClass.FACE), boxes).found_by_any()
        leaks += [f"{name} face {i}" for i in np.flatnonzero(hits)]
    assert not leaks, f"{method} at {scale}×: faces found again: {leaks}"


@pytest.mark.parametrize("secret", [bytes([n]) * 32 for n in range(1, 4)])
def test_no_warped_face_is_found_again_under_other_secrets(
    faces: dict[float, list[tuple[str, Image, np.ndarray]]], attacker: FaceReDetector, secret: bytes
) -> None:
    anonymizer = Warp(secret=secret)
    leaks = [
        f"{scale}× {name}"
        for scale in SCALES
        for name, rgb, boxes in faces[scale]
        if any(attacker.attack(_hidden(anonymizer, rgb, boxes, ObjectClass.FACE), boxes).found_by_any())
    ]
    assert not leaks, f"warped faces found again: {leaks}"


def test_the_plate_attack_reads_the_originals(
    plates: list[tuple[str, Image, np.ndarray, tuple[str, ...]]], reader: PlateReader
) -> None:
    read = sum(
        reader.best_reading(rgb, box, text).text != "" and _read(reader, rgb, box, text)
        for _, rgb, boxes, texts in plates
        for box, text in zip(boxes, texts, strict=True)
    )
    assert read >= MIN_PLATES_READ_ON_ORIGINALS, f"only {read} plates read: the attack is broken"


@pytest.mark.parametrize("method", list(METHODS))
def test_at_most_one_plate_is_read(
    plates: list[tuple[str, Image, np.ndarray, tuple[str, ...]]], reader: PlateReader, method: str
) -> None:
    anonymizer = METHODS[method]()
    leaks: list[str] = []
    for name, rgb, boxes, texts in plates:
        hidden = _hidden(anonymizer, rgb, boxes, ObjectClass.LICENSE_PLATE)
        leaks += [
            f"{name} {text}"
            for box, text in zip(boxes, texts, strict=True)
            if _read(reader, hidden, box, text)
        ]
    assert len(leaks) <= MAX_PLATES_READ_AFTER, f"{method}: {len(leaks)} of 50 plates read: {leaks}"


def _read(reader: PlateReader, image: Image, box: np.ndarray, text: str) -> bool:
    from veil.evaluation.ocr_attack import is_read

    return is_read(reader.best_reading(image, box, text).text, text)
