"""Acceptance of ``veil audit`` on ../shared: a copy leaks everything, a blacked-out copy nothing, and
Veil's default output leaks what test_privacy_acceptance measured (no annotated face or plate)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image as PILImage

from veil.api import anonymize_path
from veil.evaluation.audit import audit_paths
from veil.evaluation.audit_options import AuditOptions
from veil.pipeline.config import PipelineConfig
from veil.types import ObjectClass

pytestmark = pytest.mark.integration

FACES = Path("faces") / "dlib_pascal_voc"
PLATES = Path("plates") / "openalpr_eu"
PLATE_SAMPLE = ("eu1.jpg", "eu2.jpg", "test_001.jpg", "test_002.jpg", "test_003.jpg", "test_004.jpg")
FACE_OPTIONS = frozenset({ObjectClass.FACE})


def _blacked_out(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for image in src.glob("*.jpg"):
        with PILImage.open(image) as picture:
            PILImage.new("RGB", picture.size).save(dst / image.name, quality=95)
    return dst


def test_a_copy_leaks_every_face_and_a_blacked_out_copy_none(
    data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    original = data_dir / FACES
    options = AuditOptions(classes=FACE_OPTIONS, models_dir=models_dir)
    copy = shutil.copytree(original, tmp_path / "copy")
    leaky = audit_paths(copy, original, options)
    faces = leaky.summary(ObjectClass.FACE)
    assert faces.items >= 18  # every annotated face, and some the annotation leaves out
    assert faces.leaked == faces.items and leaky.leak_rate() == 1.0
    assert leaky.limits_exceeded({None: 0.0})

    safe = audit_paths(_blacked_out(original, tmp_path / "black"), original, options)
    assert safe.summary(ObjectClass.FACE).items == faces.items
    assert safe.leak_rate() == 0.0
    assert safe.summary(ObjectClass.FACE).detail_max == 0.0


def test_veil_default_output_leaks_no_annotated_face_or_plate(
    data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    faces_src = data_dir / FACES
    plates_src = tmp_path / "plates"
    plates_src.mkdir()
    for name in PLATE_SAMPLE:
        shutil.copy(data_dir / PLATES / name, plates_src / name)
        shutil.copy((data_dir / PLATES / name).with_suffix(".txt"), plates_src)
    config = PipelineConfig(models_dir=models_dir)
    for src, dst in ((faces_src, tmp_path / "faces_out"), (plates_src, tmp_path / "plates_out")):
        assert not anonymize_path(src, dst, config).failures

    options = AuditOptions(
        classes=frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE}), models_dir=models_dir
    )
    faces = audit_paths(tmp_path / "faces_out", faces_src, options, truth=faces_src / "training.xml")
    assert (faces.summary(ObjectClass.FACE).items, faces.summary(ObjectClass.FACE).leaked) == (18, 0)
    plates = audit_paths(tmp_path / "plates_out", plates_src, options, truth=plates_src)
    summary = plates.summary(ObjectClass.LICENSE_PLATE)
    assert (summary.items, summary.leaked) == (len(PLATE_SAMPLE), 0)
    assert summary.detail_max is not None and summary.detail_max < 0.05
