"""YOLOX-Nano (COCO, 416×416) on ONNX Runtime: persons and vehicles."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.merge import nms_by_class
from veil.detection.onnx_session import create_session
from veil.detections import Detections
from veil.errors import ConfigError
from veil.pipeline.config import DetectionConfig
from veil.types import Image, ObjectClass

__all__ = ["COCO_TO_CLASS", "YoloxDetector"]

_INPUT_SIDE_PX = 416
_STRIDES = (8, 16, 32)
_PAD_VALUE = 114
_NMS_IOU = 0.45

COCO_TO_CLASS = MappingProxyType(
    {
        0: ObjectClass.PERSON,
        1: ObjectClass.VEHICLE,  # bicycle
        2: ObjectClass.VEHICLE,  # car
        3: ObjectClass.VEHICLE,  # motorcycle
        5: ObjectClass.VEHICLE,  # bus
        7: ObjectClass.VEHICLE,  # truck
    }
)
"""COCO class index → Veil class, for the COCO classes Veil hides."""


def _grid_and_strides() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    grids, strides = [], []
    for stride in _STRIDES:
        side = _INPUT_SIDE_PX // stride
        ys, xs = np.mgrid[0:side, 0:side]  # row-major: y outer, x inner
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full((side * side, 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


class YoloxDetector:
    """Find persons and vehicles (bicycle, car, motorcycle, bus, truck) with YOLOX-Nano.

    Args:
        model_path: ``yolox_nano.onnx``.
        config: ONNX Runtime settings.
        min_score: regions scoring below this (``obj × cls``) are dropped before NMS.
    """

    def __init__(self, model_path: Path, config: DetectionConfig, *, min_score: float = 0.25) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score={min_score!r} is out of range [0, 1]")
        self.classes: frozenset[ObjectClass] = frozenset(COCO_TO_CLASS.values())
        self._min_score = min_score
        self._session = create_session(model_path, config)
        self._input_name = self._session.get_inputs()[0].name
        self._grid, self._strides = _grid_and_strides()
        self._coco_ids = np.array(sorted(COCO_TO_CLASS), np.int64)

    def detect(self, image: Image) -> Detections:
        """Return persons and vehicles in ``image`` (RGB), boxes in its pixels."""
        height, width = image.shape[:2]
        if height == 0 or width == 0:
            return Detections.empty()
        blob, ratio = self._preprocess(image)
        (raw,) = self._session.run(None, {self._input_name: blob})
        return self._postprocess(np.asarray(raw[0], np.float32), ratio, width, height)

    def _preprocess(self, image: Image) -> tuple[npt.NDArray[np.float32], float]:
        height, width = image.shape[:2]
        ratio = min(_INPUT_SIDE_PX / height, _INPUT_SIDE_PX / width)
        new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        canvas = np.full((_INPUT_SIDE_PX, _INPUT_SIDE_PX, 3), _PAD_VALUE, np.uint8)
        canvas[:new_h, :new_w] = resized[:, :, ::-1]  # RGB → BGR, pasted top-left
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        return blob, ratio

    def _postprocess(
        self, rows: npt.NDArray[np.float32], ratio: float, width: int, height: int
    ) -> Detections:
        # obj and cls are already sigmoid outputs; score = obj × cls for the classes we keep.
        class_scores = rows[:, 4:5] * rows[:, 5 + self._coco_ids]
        best = np.argmax(class_scores, axis=1)
        scores = class_scores[np.arange(len(rows)), best]
        keep = scores >= self._min_score
        if not keep.any():
            return Detections.empty()
        rows, best, scores = rows[keep], best[keep], scores[keep]
        grid, strides = self._grid[keep], self._strides[keep]
        centers = (rows[:, 0:2] + grid) * strides
        sizes = np.exp(rows[:, 2:4]) * strides
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1) / ratio
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
        labels = [COCO_TO_CLASS[int(self._coco_ids[b])] for b in best]
        # Class-wise NMS over COCO classes (a car and a person may overlap; a car and a truck box of the
        # same vehicle are both VEHICLE and so suppress each other, which is what we want).
        return nms_by_class(Detections.create(boxes, scores, labels), _NMS_IOU)
