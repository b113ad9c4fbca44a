"""Run a convolutional ONNX graph as a frozen, differentiable PyTorch module.

The utility loss needs gradients through the shipped YOLOX-nano detector, and onnx2torch (the
usual converter) imports torchvision at import time; PyPI's torchvision does not load beside the CPU
build of torch 2.13.0 that the ``train`` extra pins (``operator torchvision::nms does not exist``),
and the torchvision that matches is a multi-GB CUDA build. YOLOX-nano uses only ten operators, so
this module interprets its graph with ``torch.nn.functional`` and is checked against ONNX Runtime.

Two liberties make the graph usable on training batches: a ``Reshape`` whose target starts with
the exported batch size 1 keeps the input's batch size, and spatial sizes are free (any multiple of
the network's stride), so frames of about 200×320 need no 416×416 letterbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.nn import functional

from veil.errors import ModelError

__all__ = ["SUPPORTED_OPS", "OnnxGraphModule"]

_Op = Callable[[list[torch.Tensor]], torch.Tensor]


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    a = _attrs(node)
    strides = tuple(a.get("strides", (1, 1)))
    dilations = tuple(a.get("dilations", (1, 1)))
    pads = tuple(a.get("pads", (0, 0, 0, 0)))
    if pads[0] != pads[2] or pads[1] != pads[3]:
        raise ModelError(f"Conv {node.name}: asymmetric padding {pads} is not supported")
    groups = int(a.get("group", 1))

    def run(x: list[torch.Tensor]) -> torch.Tensor:
        bias = x[2] if len(x) > 2 else None
        return functional.conv2d(x[0], x[1], bias, strides, (pads[0], pads[1]), dilations, groups)

    return run


def _slice(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    starts, ends, axes, steps = (module.constant(name) for name in node.input[1:5])

    def run(x: list[torch.Tensor]) -> torch.Tensor:
        out = x[0]
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
            length = out.shape[int(axis)]
            index = torch.arange(int(start), min(int(end), length), int(step), device=out.device)
            out = out.index_select(int(axis), index)
        return out

    return run


def _max_pool(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    a = _attrs(node)
    if a.get("ceil_mode", 0):
        raise ModelError(f"MaxPool {node.name}: ceil_mode is not supported")
    kernel = tuple(a["kernel_shape"])
    strides = tuple(a.get("strides", (1, 1)))
    pads = tuple(a.get("pads", (0, 0, 0, 0)))
    return lambda x: functional.max_pool2d(x[0], kernel, strides, (pads[0], pads[1]))


def _resize(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    a = _attrs(node)
    if a.get("mode", b"nearest") != b"nearest":
        raise ModelError(f"Resize {node.name}: only nearest mode is supported")
    scales = module.constant(node.input[2])
    if len(scales) != 4 or scales[0] != 1 or scales[1] != 1:
        raise ModelError(f"Resize {node.name}: only spatial scales are supported, got {scales}")
    factor = (float(scales[2]), float(scales[3]))
    # Nearest with an integer factor: asymmetric/floor is what torch's "nearest" computes.
    return lambda x: functional.interpolate(x[0], scale_factor=factor, mode="nearest")


def _reshape(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    shape = [int(s) for s in module.constant(node.input[1])]

    def run(x: list[torch.Tensor]) -> torch.Tensor:
        target = list(shape)
        if target and target[0] == 1:  # the exported batch size: keep the batch's own
            target[0] = x[0].shape[0]
        return x[0].reshape(target)

    return run


def _concat(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    axis = int(_attrs(node)["axis"])
    return lambda x: torch.cat(x, dim=axis)


def _transpose(node: onnx.NodeProto, module: OnnxGraphModule) -> _Op:
    perm = [int(p) for p in _attrs(node)["perm"]]
    return lambda x: x[0].permute(perm)


_BUILDERS: dict[str, Callable[[onnx.NodeProto, OnnxGraphModule], _Op]] = {
    "Conv": _conv,
    "Slice": _slice,
    "MaxPool": _max_pool,
    "Resize": _resize,
    "Reshape": _reshape,
    "Concat": _concat,
    "Transpose": _transpose,
    "Sigmoid": lambda node, module: lambda x: torch.sigmoid(x[0]),
    "Mul": lambda node, module: lambda x: x[0] * x[1],
    "Add": lambda node, module: lambda x: x[0] + x[1],
}
SUPPORTED_OPS = frozenset(_BUILDERS)
# These operators take their other inputs (bounds, shapes, scales) as constants when built.
_DATA_INPUTS_ONLY_FIRST = frozenset({"Slice", "Reshape", "Resize"})
"""The ONNX operators :class:`OnnxGraphModule` runs."""


class OnnxGraphModule(nn.Module):
    """A frozen PyTorch module computing an ONNX graph's first output from its first input.

    The weights are buffers, not parameters: an optimizer never sees them, and gradients flow
    through the graph to its input only.

    Raises:
        ModelError: the file is not ONNX, or uses an operator outside :data:`SUPPORTED_OPS`.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # onnx raises protobuf's own untyped errors
            raise ModelError(f"cannot read ONNX model {path.name}: {exc}") from exc
        graph = model.graph
        unsupported = sorted({n.op_type for n in graph.node} - SUPPORTED_OPS)
        if unsupported:
            supported = ", ".join(sorted(SUPPORTED_OPS))
            raise ModelError(f"{path.name} uses operators {', '.join(unsupported)}; supported: {supported}")
        self._constants: dict[str, np.ndarray[Any, Any]] = {
            init.name: numpy_helper.to_array(init) for init in graph.initializer
        }
        self._buffer_names: dict[str, str] = {}
        for index, (name, value) in enumerate(self._constants.items()):
            if value.dtype == np.float32:
                buffer = f"w{index}"
                self.register_buffer(buffer, torch.from_numpy(value.copy()))
                self._buffer_names[name] = buffer
        self.input_name = graph.input[0].name
        self.output_name = graph.output[0].name
        self._nodes: list[tuple[Sequence[str], str, _Op]] = [
            (
                list(node.input[:1] if node.op_type in _DATA_INPUTS_ONLY_FIRST else node.input),
                node.output[0],
                _BUILDERS[node.op_type](node, self),
            )
            for node in graph.node
        ]
        self.requires_grad_(False)
        self.eval()

    def constant(self, name: str) -> np.ndarray[Any, Any]:
        """Return the initializer ``name`` (shapes, scales, slice bounds) as an array."""
        try:
            return self._constants[name]
        except KeyError:
            raise ModelError(f"input {name!r} must be a constant initializer") from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the graph's output for input ``x`` (the layout and scale the ONNX model expects)."""
        values: dict[str, torch.Tensor] = {self.input_name: x}
        for inputs, output, op in self._nodes:
            args = [values[name] if name in values else self._weight(name) for name in inputs if name]
            values[output] = op(args)
        return values[self.output_name]

    def _weight(self, name: str) -> torch.Tensor:
        buffer: torch.Tensor = getattr(self, self._buffer_names[name])
        return buffer
