"""Hand-built ONNX obfuscators for the fronts' tests: the obfuscator's contract with no torch needed.

An inverting network (``1 - x``) makes "this frame went through the model" a sharp check after lossy
coding, where an untrained O (a mild low-pass) is hard to tell from the codec's own loss. The failing
one passes the load-time check on its 48×32 probe frame and fails on any other size: a model error in
the middle of a run.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "gradient_frame",
    "inverted",
    "mean_difference",
    "write_failing_obfuscator",
    "write_gradient_clip",
    "write_inverting_obfuscator",
]

_PROBE_SHAPE = (1, 3, 32, 48)  # ObfuscatorModel's load-time probe


def _write(path: Path, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto]) -> Path:
    graph = helper.make_graph(
        nodes,
        "test_obfuscator",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("obfuscated", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_inverting_obfuscator(path: Path) -> Path:
    """Write a network that turns every frame into its negative (``1 - x`` in [0, 1])."""
    one = numpy_helper.from_array(np.ones((1,), np.float32), "one")
    return _write(path, [helper.make_node("Sub", ["one", "frames"], ["obfuscated"])], [one])


def write_failing_obfuscator(path: Path) -> Path:
    """Write a network that runs on 48×32 frames only: ONNX Runtime fails on every other size."""
    zeros = numpy_helper.from_array(np.zeros(_PROBE_SHAPE, np.float32), "zeros")
    return _write(path, [helper.make_node("Add", ["frames", "zeros"], ["obfuscated"])], [zeros])


def inverted(image: np.ndarray) -> np.ndarray:
    """What the inverting network makes of an RGB uint8 frame."""
    return (255 - image.astype(np.int16)).astype(np.uint8)


def gradient_frame(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of a smooth clip (colour ramps, a bright square moving): it survives lossy coding,
    so a frame and its negative stay far apart after encoding, and each stays near itself."""
    xs = np.linspace(20, 235, width)[None, :].repeat(height, 0)
    ys = np.linspace(235, 20, height)[:, None].repeat(width, 1)
    image = np.stack([xs, ys, np.full((height, width), 60.0)], axis=2)
    side = max(4, min(width, height) // 4)
    left = (index * 2) % max(1, width - side)
    image[height // 3 : height // 3 + side, left : left + side] = 230.0
    return image.round().astype(np.uint8)


def write_gradient_clip(
    path: Path, *, width: int = 96, height: int = 64, fps: int = 25, frames: int = 30
) -> Path:
    """Write the smooth clip of :func:`gradient_frame` as H.264 (near-lossless: crf 10)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10"}
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(gradient_frame(index, width, height), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 images, in grey levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
