"""The audit's identity attack: originals are recognized as themselves, expression-kept faces are not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from veil.api import anonymize_path
from veil.evaluation.audit import audit_paths
from veil.evaluation.audit_options import AuditOptions
from veil.pipeline.config import Method, PipelineConfig
from veil.types import ObjectClass

pytestmark = pytest.mark.integration

FACES = Path("faces") / "dlib_pascal_voc"
VEIL = Path(sys.executable).parent / "veil"


@pytest.fixture(scope="module")
def expression_output(data_dir: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("expression")
    config = PipelineConfig(
        targets=frozenset({ObjectClass.FACE}), default_method=Method.EXPRESSION, models_dir=models_dir
    )
    report = anonymize_path(data_dir / FACES, out, config)
    assert not report.failures
    return out


def _options(models_dir: Path) -> AuditOptions:
    return AuditOptions(classes=frozenset({ObjectClass.FACE}), models_dir=models_dir, identity=True)


def test_the_originals_are_recognized_as_themselves(data_dir: Path, models_dir: Path) -> None:
    original = data_dir / FACES
    report = audit_paths(original, original, _options(models_dir), truth=original / "training.xml")
    identity = report.identity()
    assert identity is not None and identity.compared >= 16
    assert identity.same_person == identity.compared
    assert identity.rank1 == 1.0


def test_expression_kept_faces_are_nobody_and_still_faces(
    expression_output: Path, data_dir: Path, models_dir: Path
) -> None:
    original = data_dir / FACES
    report = audit_paths(expression_output, original, _options(models_dir), truth=original / "training.xml")
    identity = report.identity()
    assert identity is not None and identity.compared >= 16
    # On the pipeline's own (detected, grown) regions one 37 px face stays under dlib's 0.6 of its
    # original; so do drawings of other people for that original (docs/methods.md). None other may.
    assert identity.same_person <= 1
    # Ranked among its frame's faces, a redrawn face finds its own original about twice as often as a
    # guess: less than the originals (every one at rank 1), more than none (docs/methods.md).
    assert identity.rank1 is not None and identity.rank1 <= 3 * identity.chance
    # Kept on purpose: the re-detection attack still finds nearly every face.
    faces = report.summary(ObjectClass.FACE)
    assert faces.leaked >= 0.9 * faces.items


def test_the_cli_prints_and_writes_the_identity_line(
    expression_output: Path, data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    original = data_dir / FACES
    out_json = tmp_path / "audit.json"
    result = subprocess.run(
        [
            str(VEIL),
            "audit",
            str(expression_output),
            "--original",
            str(original),
            "--truth",
            str(original / "training.xml"),
            "--classes",
            "face",
            "--targets",
            "face",
            "--identity",
            "--models-dir",
            str(models_dir),
            "--json",
            str(out_json),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert "face identity (dlib embedding): " in result.stdout, result.stdout + result.stderr
    written = json.loads(out_json.read_text())["face_identity"]
    assert written["compared"] >= 16 and written["same_person"] <= 1
