"""Helpers for the obfuscator's tests: a tiny YOLOX-shaped detector graph and synthetic frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

__all__ = ["synthetic_crops", "write_tiny_detector"]

# Tests share two cores with everything else; one thread also makes training runs repeatable.
torch.set_num_threads(1)


def write_tiny_detector(path: Path, seed: int = 0) -> Path:
    """Write a YOLOX-shaped ONNX graph: N×3×H×W BGR 0–255 in, N×(H/8·W/8)×85 sigmoid scores out.

    Built from the operators YOLOX-nano uses (Conv, Sigmoid, Mul, Add, Concat, Slice, MaxPool, Resize,
    Reshape with the exported batch size 1, Transpose), with random weights.
    """
    rng = np.random.default_rng(seed)

    def const(name: str, value: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(value, name)

    inits = [
        const("w1", (rng.normal(0, 0.02, (8, 12, 3, 3))).astype(np.float32)),
        const("b1", np.zeros(8, np.float32)),
        const("w2", (rng.normal(0, 0.3, (85, 8, 2, 2))).astype(np.float32)),
        const("b2", rng.normal(-1.0, 1.0, 85).astype(np.float32)),
        const("starts0", np.array([0], np.int64)),
        const("starts1", np.array([1], np.int64)),
        const("ends", np.array([2**62], np.int64)),
        const("ax2", np.array([2], np.int64)),
        const("ax3", np.array([3], np.int64)),
        const("step", np.array([2], np.int64)),
        const("scales", np.array([1.0, 1.0, 2.0, 2.0], np.float32)),
        const("roi", np.zeros(0, np.float32)),
        const("shape", np.array([1, 85, -1], np.int64)),
    ]
    nodes = [
        helper.make_node("Slice", ["images", "starts0", "ends", "ax2", "step"], ["r0"]),
        helper.make_node("Slice", ["images", "starts1", "ends", "ax2", "step"], ["r1"]),
        helper.make_node("Slice", ["r0", "starts0", "ends", "ax3", "step"], ["p00"]),
        helper.make_node("Slice", ["r0", "starts1", "ends", "ax3", "step"], ["p01"]),
        helper.make_node("Slice", ["r1", "starts0", "ends", "ax3", "step"], ["p10"]),
        helper.make_node("Slice", ["r1", "starts1", "ends", "ax3", "step"], ["p11"]),
        helper.make_node("Concat", ["p00", "p10", "p01", "p11"], ["focus"], axis=1),  # YOLOX's Focus
        helper.make_node(
            "Conv", ["focus", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node("Sigmoid", ["c1"], ["s1"]),
        helper.make_node("Mul", ["c1", "s1"], ["silu"]),
        helper.make_node(
            "MaxPool", ["silu"], ["pool"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]
        ),
        helper.make_node("Add", ["silu", "pool"], ["sum"]),
        helper.make_node("Conv", ["sum", "w2", "b2"], ["c2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "Resize",
            ["c2", "roi", "scales"],
            ["up"],
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        ),
        helper.make_node("Conv", ["up", "w2_half", "b2"], ["c3"], kernel_shape=[1, 1], strides=[2, 2]),
        helper.make_node("Sigmoid", ["c3"], ["scores"]),
        helper.make_node("Reshape", ["scores", "shape"], ["flat"]),
        helper.make_node("Transpose", ["flat"], ["output"], perm=[0, 2, 1]),
    ]
    inits.append(const("w2_half", (rng.normal(0, 0.3, (85, 85, 1, 1))).astype(np.float32)))
    graph = helper.make_graph(
        nodes,
        "tiny_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, "a", 85])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def synthetic_crops(count: int, height: int = 64, width: int = 96, seed: int = 0) -> torch.Tensor:
    """Return ``count`` uint8 N×3×H×W frames: smooth colour fields with a bright moving rectangle.

    Smooth, as camera frames mostly are: what O keeps of them, D can learn to put back.
    """
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(
        rng.uniform(30, 120, size=(count, 3, height // 8, width // 8)).astype(np.float32)
    )
    frames = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear").numpy()
    for i in range(count):
        top, left = (3 * i) % (height - 24), (5 * i) % (width - 16)
        frames[i, :, top : top + 24, left : left + 16] = rng.uniform(150, 255, size=(3, 1, 1))
    return torch.from_numpy(frames.round().astype(np.uint8))
