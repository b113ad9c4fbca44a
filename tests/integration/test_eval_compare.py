"""``evaluate_dataset`` on ../shared with the real models: Veil hides what the originals show."""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.evaluation.eval_options import EvalMethod, EvalOptions
from veil.evaluation.evaluate import evaluate_dataset
from veil.types import ObjectClass

pytestmark = pytest.mark.integration


def test_faces_blur_protects_every_face_and_the_originals_none(data_dir: Path, models_dir: Path) -> None:
    options = EvalOptions(
        methods=(EvalMethod.ORIGINAL, EvalMethod.BLUR, EvalMethod.GLOBAL_BLUR), models_dir=models_dir
    )
    report = evaluate_dataset(data_dir / "faces" / "dlib_pascal_voc" / "training.xml", options)
    original, blur, global_blur = report.results
    assert report.annotated == {ObjectClass.FACE: 18}
    assert original.privacy[ObjectClass.FACE].recall == 0.0
    assert blur.privacy[ObjectClass.FACE].recall == 1.0
    assert global_blur.privacy[ObjectClass.FACE].hidden == 18  # hidden, yet a 9×9 blur leaves faces findable
    assert global_blur.privacy[ObjectClass.FACE].recall is not None
    assert global_blur.privacy[ObjectClass.FACE].recall < 0.5
    assert original.ssim_outside == pytest.approx(1.0)
    assert blur.ssim_outside is not None and global_blur.ssim_outside is not None
    assert blur.ssim_outside > global_blur.ssim_outside
    assert original.ap[ObjectClass.PERSON] == pytest.approx(1.0)


def test_plates_mask_protects_every_plate(data_dir: Path, models_dir: Path) -> None:
    options = EvalOptions(methods=(EvalMethod.ORIGINAL, EvalMethod.MASK), models_dir=models_dir, limit=5)
    report = evaluate_dataset(data_dir / "plates" / "openalpr_eu", options)
    original, mask = report.results
    assert report.images == 5
    assert original.privacy[ObjectClass.LICENSE_PLATE].recall == 0.0  # every plate read on the originals
    assert mask.privacy[ObjectClass.LICENSE_PLATE].recall == 1.0
