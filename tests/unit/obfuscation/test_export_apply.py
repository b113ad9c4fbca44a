"""Export computes the PyTorch model; apply takes any frame size, leaves it alone, refuses bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from veil.errors import ModelError, UnsupportedFrameError
from veil.obfuscation.apply import ObfuscatorModel
from veil.obfuscation.export import check_export, export_onnx
from veil.obfuscation.network import Deobfuscator, Obfuscator, parameter_count


@pytest.fixture
def trained_like(tmp_path: Path) -> tuple[Obfuscator, Path]:
    """An obfuscator moved off its initial codec (random decoder weights), exported."""
    torch.manual_seed(3)
    model = Obfuscator()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = tmp_path / "obfuscator.onnx"
    export_onnx(model, path, metadata={"veil.train_config": "{}"})
    return model, path


def test_sizes_of_the_networks() -> None:
    assert 35_000 <= parameter_count(Obfuscator()) <= 50_000  # the published O has about 0.04 M
    assert parameter_count(Deobfuscator()) > 2 * parameter_count(Obfuscator())


def test_export_matches_pytorch(trained_like: tuple[Obfuscator, Path]) -> None:
    model, path = trained_like
    assert check_export(model, path) < 1e-3
    assert check_export(model, path, height=48, width=80) < 1e-3  # other sizes: the axes are free
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["veil.kind"] == "obfuscator" and meta["veil.size_multiple"] == "16"


@pytest.mark.parametrize(("height", "width"), [(48, 64), (37, 53), (1, 1), (720, 1280)])
def test_apply_keeps_size_and_leaves_input_alone(
    trained_like: tuple[Obfuscator, Path], height: int, width: int
) -> None:
    model, path = trained_like
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    before = image.copy()
    out = ObfuscatorModel(path).apply(image)
    assert out.shape == image.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(image, before)
    if height % 16 == 0 and width % 16 == 0:
        with torch.no_grad():
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            expected = (model.eval()(x)[0].permute(1, 2, 0).numpy() * 255).round()
        assert np.abs(out.astype(np.float64) - expected).max() <= 1


def test_a_detector_is_not_an_obfuscator(tiny_detector: Path) -> None:
    with pytest.raises(ModelError, match=r"not an obfuscator: expected one float32 input N×3×H×W"):
        ObfuscatorModel(tiny_detector)


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        ObfuscatorModel(tmp_path / "none.onnx")


def test_apply_refuses_non_rgb(trained_like: tuple[Obfuscator, Path]) -> None:
    with pytest.raises(UnsupportedFrameError):
        ObfuscatorModel(trained_like[1]).apply(np.zeros((8, 8), np.uint8))
