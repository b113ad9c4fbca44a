"""YOLOX-Nano (COCO, 416×416) on ONNX Runtime: persons and vehicles."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np
import numpy.typing as npt

from veil.checks import require_rgb
from veil.detection.merge import nms_by_class
from veil.detection.onnx_session import create_session
from veil.detection.settings import DetectionConfig
from veil.detections import Detections
from veil.errors import ConfigError, ModelError
from veil.types import Image, ObjectClass

__all__ = ["COCO_TO_CLASS", "YoloxDetector", "decode_yolox"]

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
    grid = np.concatenate(grids).astype(np.float32)
    grid_strides = np.concatenate(strides).astype(np.float32)
    grid.flags.writeable = False
    grid_strides.flags.writeable = False
    return grid, grid_strides


_GRID, _GRID_STRIDES = _grid_and_strides()
_COCO_IDS = np.array(sorted(COCO_TO_CLASS), np.int64)


def decode_yolox(
    rows: npt.NDArray[np.float32], *, ratio: float, width: int, height: int, min_score: float
) -> Detections:
    """Return persons and vehicles from YOLOX's raw (3549, 85) output for a ``width``×``height`` image.

    ``ratio`` is the letterbox scale (input pixels per image pixel). Rows are the stride 8, 16, 32 grids
    in that order, each ``[dx, dy, log_w, log_h, obj, cls_0..cls_79]`` with obj and cls already sigmoid.
    """
    if rows.shape != (len(_GRID), 85):
        raise ModelError(f"YOLOX output has shape {rows.shape}, expected ({len(_GRID)}, 85)")
    class_scores = rows[:, 4:5] * rows[:, 5 + _COCO_IDS]
    best = np.argmax(class_scores, axis=1)
    scores = class_scores[np.arange(len(rows)), best]
    keep = scores >= min_score
    if not keep.any():
        return Detections.empty()
    rows, best, scores = rows[keep], best[keep], scores[keep]
    grid, strides = _GRID[keep], _GRID_STRIDES[keep]
    centers = (rows[:, 0:2] + grid) * strides
    sizes = np.exp(rows[:, 2:4]) * strides
    boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1) / ratio
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    labels = [COCO_TO_CLASS[int(_COCO_IDS[b])] for b in best]
    # NMS per Veil class: a car and a truck box on one vehicle are both VEHICLE and suppress each other.
    return nms_by_class(Detections.create(boxes, scores, labels), _NMS_IOU)


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

    def detect(self, image: Image) -> Detections:
        """Return persons and vehicles in ``image`` (RGB), boxes in its pixels."""
        height, width = require_rgb(image)
        blob, ratio = self._preprocess(image)
        (raw,) = self._session.run(None, {self._input_name: blob})
        rows = np.asarray(raw, np.float32).reshape(-1, 85)
        return decode_yolox(rows, ratio=ratio, width=width, height=height, min_score=self._min_score)

    def _preprocess(self, image: Image) -> tuple[npt.NDArray[np.float32], float]:
        height, width = image.shape[:2]
        ratio = min(_INPUT_SIDE_PX / height, _INPUT_SIDE_PX / width)
        new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        canvas = np.full((_INPUT_SIDE_PX, _INPUT_SIDE_PX, 3), _PAD_VALUE, np.uint8)
        canvas[:new_h, :new_w] = resized[:, :, ::-1]  # RGB → BGR, pasted top-left
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        return blob, ratio
