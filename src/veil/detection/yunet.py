"""YuNet face detector (OpenCV Zoo) on ONNX Runtime, at the size of the image it is given."""

from __future__ import annotations

from pathlib import Path

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
from veil.types import Image, ObjectClass

__all__ = ["YuNetDetector", "decode_yunet_level"]

_STRIDES = (8, 16, 32)
_INPUT_MULTIPLE = 32
_NMS_IOU = 0.3  # OpenCV's FaceDetectorYN default

Floats = npt.NDArray[np.float32]


def decode_yunet_level(
    cls: Floats, obj: Floats, bbox: Floats, *, stride: int, grid_width: int, min_score: float
) -> tuple[Floats, Floats]:
    """Return the ``(boxes_xyxy, scores)`` of one YuNet output level whose score is at least ``min_score``.

    Args:
        cls: class scores, any shape holding A values (A anchors, row-major over the level's grid).
        obj: objectness, A values.
        bbox: A×4 raw box offsets ``(dx, dy, log_w, log_h)`` in units of ``stride``.
        stride: the level's stride in input pixels.
        grid_width: anchors per grid row (input width / stride).
        min_score: lowest score kept.
    """
    scores = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1)).reshape(-1).astype(np.float32)
    keep = np.flatnonzero(scores >= min_score)
    raw = bbox.reshape(-1, 4)[keep]
    rows, cols = np.divmod(keep, grid_width)
    cx = (cols + raw[:, 0]) * stride
    cy = (rows + raw[:, 1]) * stride
    w = np.exp(raw[:, 2]) * stride
    h = np.exp(raw[:, 3]) * stride
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return boxes, scores[keep]


class YuNetDetector:
    """Find faces with YuNet at the image's own size (padded to a multiple of 32).

    Args:
        model_path: ``face_detection_yunet_2026may.onnx``.
        config: ONNX Runtime settings.
        min_score: faces scoring below this are dropped before non-maximum suppression.
    """

    def __init__(self, model_path: Path, config: DetectionConfig, *, min_score: float = 0.3) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score={min_score!r} is out of range [0, 1]")
        self.classes: frozenset[ObjectClass] = frozenset({ObjectClass.FACE})
        self._min_score = min_score
        self._session = create_session(model_path, config)
        self._input_name: str = self._session.get_inputs()[0].name
        # The landmark outputs are not requested: Detections has nowhere to put them.
        self._output_names = [f"{kind}_{s}" for s in _STRIDES for kind in ("cls", "obj", "bbox")]
        present = {o.name for o in self._session.get_outputs()}
        missing = [name for name in self._output_names if name not in present]
        if missing:
            raise ModelError(f"{model_path.name} is not a YuNet model: outputs {missing} are missing")

    def detect(self, image: Image) -> Detections:
        """Return the faces in ``image`` (H×W×3 uint8 RGB), boxes in its pixels."""
        height, width = require_rgb(image)
        padded = pad_to_multiple(image, _INPUT_MULTIPLE)
        blob = cv2.dnn.blobFromImage(padded, swapRB=True)  # RGB → BGR, NCHW float32 0–255
        outputs = self._session.run(self._output_names, {self._input_name: blob})
        grid_width = padded.shape[1]
        all_boxes, all_scores = [], []
        for level, stride in enumerate(_STRIDES):
            cls, obj, bbox = outputs[3 * level : 3 * level + 3]
            boxes, scores = decode_yunet_level(
                cls, obj, bbox, stride=stride, grid_width=grid_width // stride, min_score=self._min_score
            )
            all_boxes.append(boxes)
            all_scores.append(scores)
        boxes = clip_boxes(np.concatenate(all_boxes), width, height)
        scores = np.concatenate(all_scores)
        # Boxes that lie wholly in the padding are empty once clipped.
        inside = box_area(boxes) > 0
        boxes, scores = boxes[inside], scores[inside]
        if len(scores) == 0:
            return Detections.empty()
        keep = nms(boxes, scores, _NMS_IOU)
        return Detections.create(boxes[keep], scores[keep], ObjectClass.FACE)
