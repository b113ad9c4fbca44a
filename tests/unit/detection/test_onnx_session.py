from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from veil.detection.onnx_session import create_session, preferred_providers
from veil.errors import MissingExtraError, ModelError
from veil.pipeline.config import DetectionConfig, Device


def _identity_model() -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


@pytest.mark.parametrize(("threads", "expected"), [(0, 1), (1, 1), (3, 3)])
def test_sessions_use_one_intra_op_thread_unless_told(threads: int, expected: int) -> None:
    session = create_session(_identity_model(), DetectionConfig(intra_op_threads=threads))

    assert session.get_session_options().intra_op_num_threads == expected
    x = np.arange(3, dtype=np.float32).reshape(1, 3)
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], x)


def test_an_unloadable_model_names_itself() -> None:
    with pytest.raises(ModelError, match="cannot load ONNX model in-memory model"):
        create_session(b"not a model", DetectionConfig())


@pytest.mark.parametrize(
    ("available", "device", "expected"),
    [
        (["CPUExecutionProvider"], Device.AUTO, ["CPUExecutionProvider"]),
        (
            ["CUDAExecutionProvider", "CPUExecutionProvider"],
            Device.AUTO,
            ["CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], Device.CPU, ["CPUExecutionProvider"]),
        (
            ["CUDAExecutionProvider", "CPUExecutionProvider"],
            Device.CUDA,
            ["CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
    ],
)
def test_device_picks_the_providers(
    monkeypatch: pytest.MonkeyPatch, available: list[str], device: Device, expected: list[str]
) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: available)
    assert preferred_providers((), device) == expected


def test_cuda_without_a_cuda_runtime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(MissingExtraError, match=r"veil\[gpu\]") as caught:
        preferred_providers((), Device.CUDA)
    assert caught.value.extra == "gpu"
