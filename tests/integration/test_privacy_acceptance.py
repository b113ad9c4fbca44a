"""Acceptance: after ``anonymize_path`` at defaults, faces cannot be found again nor plates read.

The attacks (YuNet ≥ 0.5 and CenterFace ≥ 0.4 at 1× and 2×; PP-OCRv4 recognition on the annotated
crop at 1× and 2×) are first shown to succeed on the originals, so a broken attack cannot pass.
``benchmarks/privacy_images.py`` prints the same figures with the reasons behind any leak.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.api import anonymize_path
from veil.evaluation.datasets import AnnotatedImage, read_dlib_xml, read_openalpr_dir
from veil.evaluation.face_attack import FaceAttacker, FaceReDetector
from veil.evaluation.ocr_attack import PlateReader
from veil.evaluation.privacy import attack_faces, attack_plates
from veil.pipeline.config import PipelineConfig

pytestmark = pytest.mark.integration

FACES = Path("faces") / "dlib_pascal_voc"
PLATES = Path("plates") / "openalpr_eu"
ANNOTATED_FACES = 18
ANNOTATED_PLATES = 50
# Measured on the originals with these attacks: every face and every plate (DESIGN: recall baselines).
MIN_FACES_FOUND_ON_ORIGINALS = 16
MIN_PLATES_READ_ON_ORIGINALS = 50
MAX_PLATES_READ_AFTER = 0  # every plate hidden


def _anonymized(src: Path, dst: Path, models_dir: Path) -> Path:
    report = anonymize_path(src, dst, PipelineConfig(models_dir=models_dir))
    assert not report.failures, report.failures
    return dst


@pytest.fixture(scope="module")
def faces(data_dir: Path) -> list[AnnotatedImage]:
    """The 4 annotated dlib / PASCAL VOC images."""
    return read_dlib_xml(data_dir / FACES / "training.xml")


@pytest.fixture(scope="module")
def plates(data_dir: Path) -> list[AnnotatedImage]:
    """The 50 annotated OpenALPR EU images."""
    return read_openalpr_dir(data_dir / PLATES)


def test_no_face_is_found_again(
    faces: list[AnnotatedImage], data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    attack = FaceReDetector(models_dir)
    before = attack_faces(faces, attack)
    assert len(before) == ANNOTATED_FACES
    assert sum(o.found for o in before) >= MIN_FACES_FOUND_ON_ORIGINALS, "the face attack is broken"
    for attacker in FaceAttacker:
        assert sum(o.found_by(attacker) for o in before) >= MIN_FACES_FOUND_ON_ORIGINALS, attacker

    out = _anonymized(data_dir / FACES, tmp_path / "faces", models_dir)
    after = attack_faces([item.rebased(data_dir / FACES, out) for item in faces], attack)
    leaks = [f"{o.image_name} face {o.index} {o.box_xyxy}: {dict(o.scores)}" for o in after if o.found]
    assert not leaks, f"{len(leaks)} of {ANNOTATED_FACES} faces found again: {leaks}"


def test_no_plate_is_read(
    plates: list[AnnotatedImage], data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    reader = PlateReader()
    before = attack_plates(plates, reader)
    assert len(before) == ANNOTATED_PLATES
    unread = [f"{o.image_name}: {o.reading.text!r} for {o.truth}" for o in before if not o.read]
    assert len(before) - len(unread) >= MIN_PLATES_READ_ON_ORIGINALS, f"the OCR attack is broken: {unread}"

    out = _anonymized(data_dir / PLATES, tmp_path / "plates", models_dir)
    after = attack_plates([item.rebased(data_dir / PLATES, out) for item in plates], reader)
    leaks = [f"{o.image_name}: {o.reading.text!r} for {o.truth}" for o in after if o.read]
    assert len(leaks) <= MAX_PLATES_READ_AFTER, f"{len(leaks)} of {ANNOTATED_PLATES} plates read: {leaks}"
