"""LPD-YuNet licence plate detector (OpenCV Zoo) on ONNX Runtime: fixed 320×240 input, corner quads."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from veil.checks import require_rgb
from veil.detection.onnx_session import create_session
from veil.detection.settings import DetectionConfig
from veil.detections import Detections, Polygon
from veil.errors import ConfigError, ModelError
from veil.geometry import box_area, nms
from veil.types import Image, ObjectClass

__all__ = ["LpdYuNetDetector", "decode_lpd_yunet", "lpd_yunet_priors", "order_corners"]

INPUT_WIDTH_PX = 320
INPUT_HEIGHT_PX = 240
_MIN_SIZES = ((10, 16, 24), (32, 48), (64, 96), (128, 192, 256))
_STEPS = (8, 16, 32, 64)
_VARIANCE = 0.1
# Columns of ``loc`` holding the four corners' (x, y) offsets.
_CORNER_COLUMNS = (4, 6, 10, 12)
_NMS_IOU = 0.3
# A plate is wider than tall, so one taller than half the image could not fit in it. LPD-YuNet does
# output such frame-filling quads (score 0.5+ on a dark dashcam frame): anchors decoded past their
# largest size, not plates.
_MAX_HEIGHT_RATIO = 0.5

Floats = npt.NDArray[np.float32]


def lpd_yunet_priors(width: int = INPUT_WIDTH_PX, height: int = INPUT_HEIGHT_PX) -> Floats:
    """Return the (P, 4) anchors ``cx, cy, w, h`` (fractions of the input) in the model's output order."""
    feature_h, feature_w = ((height + 1) // 2) // 2, ((width + 1) // 2) // 2
    priors: list[tuple[float, float, float, float]] = []
    for min_sizes, step in zip(_MIN_SIZES, _STEPS, strict=True):
        feature_h, feature_w = feature_h // 2, feature_w // 2
        for i in range(feature_h):
            for j in range(feature_w):
                for size in min_sizes:
                    priors.append(
                        ((j + 0.5) * step / width, (i + 0.5) * step / height, size / width, size / height)
                    )
    return np.asarray(priors, np.float32)


def order_corners(quads: Floats) -> Floats:
    """Return (K, 4, 2) quadrilaterals with their corners reordered TL, TR, BR, BL.

    Corners go clockwise on screen (y points down) starting from the one nearest the top-left
    (smallest x + y). The network's own corner order is not consistent: on some plates it
    comes out counter-clockwise.
    """
    centres = quads.mean(axis=1, keepdims=True)
    angles = np.arctan2(quads[..., 1] - centres[..., 1], quads[..., 0] - centres[..., 0])
    clockwise = np.take_along_axis(quads, np.argsort(angles, axis=1)[..., None], axis=1)
    start = np.argmin(clockwise.sum(axis=2), axis=1)
    rolled = (start[:, None] + np.arange(4)[None, :]) % 4
    ordered: Floats = np.take_along_axis(clockwise, rolled[..., None], axis=1)
    return ordered


def decode_lpd_yunet(
    loc: Floats, conf: Floats, iou: Floats, priors: Floats, *, min_score: float
) -> tuple[Floats, Floats]:
    """Return ``(corners, scores)`` for the anchors scoring at least ``min_score``.

    ``corners`` is (K, 4, 2) in the network's corner order (see :func:`order_corners`), as fractions
    of the input width and height.
    """
    scores = np.sqrt(conf[:, 1] * np.clip(iou[:, 0], 0, 1)).astype(np.float32)
    keep = np.flatnonzero(scores >= min_score)
    prior = priors[keep]
    corners = np.stack(
        [prior[:, 0:2] + loc[keep, c : c + 2] * _VARIANCE * prior[:, 2:4] for c in _CORNER_COLUMNS], axis=1
    ).astype(np.float32)
    return corners, scores[keep]


class LpdYuNetDetector:
    """Find licence plates with LPD-YuNet; each region carries its corner quadrilateral as a polygon.

    The image is resized to the model's fixed 320×240 input, so plates must be reasonably large in
    the image (run it on tiles or vehicle crops otherwise). It was trained on Chinese plates.

    Args:
        model_path: ``license_plate_detection_lpd_yunet_2023mar.onnx``.
        config: ONNX Runtime settings.
        min_score: plates scoring below this are dropped before non-maximum suppression.
        int8_model: a serialized model derived from ``model_path`` (the int8 one of
            :mod:`veil.detection.quantize`) to run in its place.
    """

    def __init__(
        self,
        model_path: Path,
        config: DetectionConfig,
        *,
        min_score: float = 0.5,
        int8_model: bytes | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score={min_score!r} is out of range [0, 1]")
        self.classes: frozenset[ObjectClass] = frozenset({ObjectClass.LICENSE_PLATE})
        self._min_score = min_score
        self._session = create_session(model_path if int8_model is None else int8_model, config)
        self._input_name: str = self._session.get_inputs()[0].name
        self._output_names = ["loc", "conf", "iou"]
        present = {o.name for o in self._session.get_outputs()}
        if not present.issuperset(self._output_names):
            raise ModelError(f"{model_path.name} is not an LPD-YuNet model: outputs are {sorted(present)}")
        self._priors = lpd_yunet_priors()

    def network_input(self, image: Image) -> dict[str, Floats]:
        """Return the network's input for ``image`` (H×W×3 uint8 RGB): the feed :meth:`detect` runs."""
        require_rgb(image)
        resized = cv2.resize(image, (INPUT_WIDTH_PX, INPUT_HEIGHT_PX), interpolation=cv2.INTER_LINEAR)
        # RGB → BGR, NCHW float32 0–255
        blob = np.asarray(cv2.dnn.blobFromImage(resized, swapRB=True), np.float32)
        return {self._input_name: blob}

    def detect(self, image: Image) -> Detections:
        """Return the plates in ``image`` (H×W×3 uint8 RGB): boxes and TL-TR-BR-BL polygons in its pixels."""
        height, width = require_rgb(image)
        loc, conf, iou = self._session.run(self._output_names, self.network_input(image))
        if len(loc) != len(self._priors):
            raise ModelError(f"LPD-YuNet returned {len(loc)} anchors, expected {len(self._priors)}")
        corners, scores = decode_lpd_yunet(loc, conf, iou, self._priors, min_score=self._min_score)
        # Ordered in image pixels: scaling x and y by different factors can change which corner is top-left.
        corners = order_corners(corners * np.array([width, height], np.float32))
        corners[..., 0] = np.clip(corners[..., 0], 0, width)
        corners[..., 1] = np.clip(corners[..., 1], 0, height)
        boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
        valid = (box_area(boxes) > 0) & (boxes[:, 3] - boxes[:, 1] <= _MAX_HEIGHT_RATIO * height)
        corners, boxes, scores = corners[valid], boxes[valid], scores[valid]
        if len(scores) == 0:
            return Detections.empty()
        keep = nms(boxes, scores, _NMS_IOU)
        polygons: list[Polygon | None] = [corners[i].copy() for i in keep]
        return Detections.create(boxes[keep], scores[keep], ObjectClass.LICENSE_PLATE, polygons=polygons)
