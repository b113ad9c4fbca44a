"""The ONNX graph as a torch module computes what ONNX Runtime does, and lets gradients through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from veil.errors import ModelError
from veil.obfuscation.onnx_torch import OnnxGraphModule


def _ort(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(None, {session.get_inputs()[0].name: x})[0]
    return out


def test_tiny_graph_matches_onnx_runtime(tiny_detector: Path) -> None:
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 64, 96)).astype(np.float32)
    with torch.no_grad():
        got = OnnxGraphModule(tiny_detector)(torch.from_numpy(x)).numpy()
    expected = _ort(tiny_detector, x)
    assert got.shape == expected.shape == (1, 8 * 12, 85)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_batches_keep_their_size_and_weights_stay_frozen(tiny_detector: Path) -> None:
    module = OnnxGraphModule(tiny_detector)
    x = torch.rand(3, 3, 64, 96, requires_grad=True)
    out = module(x * 255)
    assert out.shape == (3, 96, 85)
    out.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert not list(module.parameters())  # weights are buffers: an optimizer never sees them
    assert all(not b.requires_grad for b in module.buffers())


def test_unsupported_operator_is_named(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    path = tmp_path / "softmax.onnx"
    save(helper.make_model(graph), str(path))
    with pytest.raises(ModelError, match="Softmax"):
        OnnxGraphModule(path)


@pytest.mark.integration
def test_yolox_nano_matches_onnx_runtime(models_dir: Path) -> None:
    path = models_dir / "yolox_nano.onnx"
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, 416, 416)).astype(np.float32)
    with torch.no_grad():
        got = OnnxGraphModule(path)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, _ort(path, x), atol=1e-3)
    # Free sizes: a 192×320 batch of two gives 24·40 + 12·20 + 6·10 anchors each.
    with torch.no_grad():
        assert OnnxGraphModule(path)(torch.zeros(2, 3, 192, 320)).shape == (2, 1260, 85)
