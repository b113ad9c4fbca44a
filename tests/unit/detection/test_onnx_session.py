from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from veil.detection.onnx_session import create_session
from veil.errors import ModelError
from veil.pipeline.config import DetectionConfig


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
