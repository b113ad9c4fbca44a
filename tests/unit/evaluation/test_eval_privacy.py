"""Attacks run over annotated image sets written here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError, UnsupportedFrameError
from veil.evaluation.datasets import AnnotatedImage
from veil.evaluation.face_attack import FaceAttacker, FaceReDetector
from veil.evaluation.ocr_attack import PlateReader
from veil.evaluation.privacy import attack_faces, attack_plates
from veil.types import ObjectClass


def _save(path: Path, image: np.ndarray) -> Path:
    PILImage.fromarray(image).save(path)
    return path


def test_attack_faces_one_outcome_per_face(tmp_path: Path) -> None:
    path = _save(tmp_path / "a.png", np.zeros((40, 100, 3), np.uint8))
    item = AnnotatedImage(path, ((10.0, 10.0, 30.0, 30.0), (60.0, 10.0, 80.0, 30.0)), ObjectClass.FACE)
    found = FakeDetector(Detections.create([[60, 10, 80, 30]], [0.8], ObjectClass.FACE))
    outcomes = attack_faces([item], FaceReDetector(scales=(1.0,), detectors={FaceAttacker.YUNET: found}))
    assert [(o.image_name, o.index, o.found) for o in outcomes] == [("a.png", 0, False), ("a.png", 1, True)]
    assert outcomes[1].found_by(FaceAttacker.YUNET) and not outcomes[1].found_by(FaceAttacker.CENTERFACE)
    assert outcomes[1].scores[FaceAttacker.YUNET] == pytest.approx(0.8)


def test_attack_faces_refuses_image_of_other_size(tmp_path: Path) -> None:
    path = _save(tmp_path / "a.png", np.zeros((40, 100, 3), np.uint8))
    item = AnnotatedImage(path, ((10.0, 10.0, 30.0, 30.0),), ObjectClass.FACE, size_wh=(200, 80))
    attack = FaceReDetector(detectors={FaceAttacker.YUNET: FakeDetector(Detections.empty())})
    with pytest.raises(UnsupportedFrameError, match="boxes would not line up"):
        attack_faces([item], attack)


def test_attack_plates_reads_clear_plate_and_needs_text(tmp_path: Path) -> None:
    image = np.full((120, 320, 3), 90, np.uint8)
    cv2.rectangle(image, (40, 40), (280, 90), (255, 255, 255), -1)
    cv2.putText(image, "KL482TX", (52, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3, cv2.LINE_AA)
    clear = _save(tmp_path / "clear.png", image)
    hidden = _save(tmp_path / "hidden.png", cv2.GaussianBlur(image, (0, 0), 12))
    box = ((40.0, 40.0, 281.0, 91.0),)
    items = [AnnotatedImage(path, box, ObjectClass.LICENSE_PLATE, ("KL 482 TX",)) for path in (clear, hidden)]
    outcomes = attack_plates(items, PlateReader())
    assert [(o.image_name, o.read) for o in outcomes] == [("clear.png", True), ("hidden.png", False)]
    assert outcomes[0].similarity == 1.0
    with pytest.raises(ConfigError, match="no annotated text"):
        attack_plates([AnnotatedImage(clear, box, ObjectClass.LICENSE_PLATE)], PlateReader())
