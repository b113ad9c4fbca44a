from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

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


@dataclass
class _GpuBuild:
    """onnxruntime-gpu as sessions see it: the providers each session asked for, and where it then runs."""

    runs_on: list[str] = field(default_factory=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    asked: list[list[str]] = field(default_factory=list)

    def session(self, source: object, sess_options: object = None, providers: list[str] | None = None) -> Any:
        self.asked.append(list(providers or []))
        return SimpleNamespace(get_providers=lambda: list(self.runs_on))


@pytest.fixture
def gpu_build(monkeypatch: pytest.MonkeyPatch) -> _GpuBuild:
    """ONNX Runtime with a CUDA provider and faked sessions: the choice is tested without a GPU."""
    import onnxruntime

    build = _GpuBuild()
    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(onnxruntime, "InferenceSession", build.session)
    return build


def test_auto_runs_on_the_gpu_when_cuda_starts(
    gpu_build: _GpuBuild, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="veil.detection.onnx_session"):
        create_session(_identity_model(), DetectionConfig())
    assert gpu_build.asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


def test_auto_says_so_when_cuda_falls_back_to_the_cpu(
    gpu_build: _GpuBuild, caplog: pytest.LogCaptureFixture
) -> None:
    # onnxruntime-gpu without a GPU (or driver, or cuDNN) quietly builds a CPU session.
    gpu_build.runs_on = ["CPUExecutionProvider"]
    with caplog.at_level(logging.INFO, logger="veil.detection.onnx_session"):
        create_session(_identity_model(), DetectionConfig(device=Device.AUTO))
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "runs on the CPU" in caplog.text and "veil[gpu]" in caplog.text


def test_cuda_that_does_not_start_is_refused(gpu_build: _GpuBuild) -> None:
    gpu_build.runs_on = ["CPUExecutionProvider"]
    with pytest.raises(ModelError, match="could not start CUDA for in-memory model"):
        create_session(_identity_model(), DetectionConfig(device=Device.CUDA))


def test_cpu_never_asks_for_cuda(gpu_build: _GpuBuild) -> None:
    gpu_build.runs_on = ["CPUExecutionProvider"]
    create_session(_identity_model(), DetectionConfig(device=Device.CPU))
    assert gpu_build.asked == [["CPUExecutionProvider"]]


def test_auto_on_the_cpu_build_says_where_it_runs(caplog: pytest.LogCaptureFixture) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA")
    with caplog.at_level(logging.INFO, logger="veil.detection.onnx_session"):
        create_session(_identity_model(), DetectionConfig())
    assert "in-memory model runs on the CPU" in caplog.text
