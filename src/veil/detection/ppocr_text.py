"""PP-OCRv4 text detector (PaddleOCR DB, multilingual scripts) on ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pyclipper

from veil.checks import require_rgb
from veil.detection.onnx_session import create_session
from veil.detection.settings import DetectionConfig
from veil.detections import Detections, Polygon
from veil.errors import ConfigError
from veil.types import Image, ObjectClass

__all__ = ["TextDetector", "db_regions", "network_size"]

_STRIDE_PX = 32  # the network's input sides must be multiples of this
# ImageNet statistics, applied to the BGR array in that channel order, as PaddleOCR does.
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
_MAX_CANDIDATES = 1000
_CLIPPER_SCALE = 16.0  # pyclipper works on integers: keep 1/16 px precision


class TextDetector:
    """Find text regions as rotated quadrilaterals with PP-OCRv4's DB detector.

    The image is resized so its long side is at most ``max_long_side_px`` (and at least
    ``min_long_side_px``, which helps with small crops) and both sides are multiples of 32, as the model
    requires.

    Args:
        model_path: ``ch_PP-OCRv4_det_infer.onnx``.
        config: ONNX Runtime settings.
        min_score: a region's mean text probability must reach this.
        max_long_side_px: larger images are shrunk to this long side.
        min_long_side_px: smaller images are enlarged to this long side (0: never enlarge).
        binarize_threshold: probability above which a pixel counts as text.
        unclip_ratio: DB's expansion of the shrunk text kernel (offset = area × ratio / perimeter).
        label: class given to the regions (plates use LICENSE_PLATE).
        int8_model: a serialized model derived from ``model_path`` (the int8 one of
            :mod:`veil.detection.quantize`) to run in its place.
    """

    def __init__(
        self,
        model_path: Path,
        config: DetectionConfig,
        *,
        min_score: float = 0.6,
        max_long_side_px: int = 960,
        min_long_side_px: int = 0,
        binarize_threshold: float = 0.3,
        unclip_ratio: float = 1.5,
        label: ObjectClass = ObjectClass.TEXT,
        int8_model: bytes | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score={min_score!r} is out of range [0, 1]")
        if max_long_side_px < _STRIDE_PX:
            raise ConfigError(f"max_long_side_px={max_long_side_px!r} must be >= {_STRIDE_PX}")
        if min_long_side_px > max_long_side_px:
            raise ConfigError(
                f"min_long_side_px={min_long_side_px!r} must not exceed max_long_side_px={max_long_side_px!r}"
            )
        self.classes = frozenset({label})
        self._label = label
        self._min_score = min_score
        self._max_long_side_px = max_long_side_px
        self._min_long_side_px = min_long_side_px
        self._binarize_threshold = binarize_threshold
        self._unclip_ratio = unclip_ratio
        self._session = create_session(model_path if int8_model is None else int8_model, config)
        self._input_name: str = self._session.get_inputs()[0].name

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """Return the (width, height) the network sees for an image of ``width``×``height``."""
        return network_size(
            width, height, max_long_side_px=self._max_long_side_px, min_long_side_px=self._min_long_side_px
        )

    def network_input(self, image: Image) -> dict[str, npt.NDArray[np.float32]]:
        """Return the network's input for ``image`` (H×W×3 uint8 RGB): the feed :meth:`detect` runs."""
        height, width = require_rgb(image)
        net_w, net_h = self.input_size(width, height)
        resized = cv2.resize(image, (net_w, net_h), interpolation=cv2.INTER_LINEAR)
        bgr = resized[:, :, ::-1].astype(np.float32) / 255.0
        blob = ((bgr - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)
        return {self._input_name: blob}

    def detect(self, image: Image) -> Detections:
        """Return text regions in ``image`` (RGB) with 4-point polygons in its pixels."""
        height, width = require_rgb(image)
        net_w, net_h = self.input_size(width, height)
        (prob,) = self._session.run(None, self.network_input(image))
        return db_regions(
            np.asarray(prob, np.float32).reshape(net_h, net_w),
            image_wh=(width, height),
            binarize_threshold=self._binarize_threshold,
            min_score=self._min_score,
            unclip_ratio=self._unclip_ratio,
            label=self._label,
        )


def network_size(
    width: int, height: int, *, max_long_side_px: int, min_long_side_px: int = 0
) -> tuple[int, int]:
    """Return the (width, height) of the network input: the long side brought into range, sides × 32.

    The aspect ratio is kept up to the rounding of each side to the nearest multiple of 32 (at least 32).
    """
    long_side = max(width, height)
    ratio = 1.0
    if long_side > max_long_side_px:
        ratio = max_long_side_px / long_side
    elif long_side < min_long_side_px:
        ratio = min_long_side_px / long_side
    return _snap(width * ratio), _snap(height * ratio)


def _snap(side: float) -> int:
    return max(_STRIDE_PX, round(side / _STRIDE_PX) * _STRIDE_PX)


def db_regions(
    prob: npt.NDArray[np.float32],
    *,
    image_wh: tuple[int, int],
    binarize_threshold: float = 0.3,
    min_score: float = 0.6,
    unclip_ratio: float = 1.5,
    label: ObjectClass = ObjectClass.TEXT,
) -> Detections:
    """Return text regions from a DB probability map, as quads in an image of ``image_wh`` (W, H).

    Pixels above ``binarize_threshold`` form contours; a contour whose mean probability reaches
    ``min_score`` is boxed by its minimum-area rectangle, grown by ``area × unclip_ratio / perimeter``
    (the network predicts shrunk text kernels), and scaled from the map's size to the image's.
    """
    map_h, map_w = prob.shape
    width, height = image_wh
    sx, sy = width / map_w, height / map_h
    bitmap = (prob > binarize_threshold).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    polygons: list[Polygon] = []
    scores: list[float] = []
    for contour in contours[:_MAX_CANDIDATES]:
        points = np.asarray(contour, np.int32).reshape(-1, 2)
        if len(points) < 3:
            continue
        score = _mean_inside(prob, points)
        if score < min_score:
            continue
        quad = _unclip(cv2.boxPoints(cv2.minAreaRect(points)).astype(np.float32), unclip_ratio)
        if quad is None:
            continue
        quad[:, 0] = np.clip(quad[:, 0] * sx, 0, width)
        quad[:, 1] = np.clip(quad[:, 1] * sy, 0, height)
        polygons.append(quad)
        scores.append(score)
    if not polygons:
        return Detections.empty()
    boxes = np.array([[*p.min(axis=0), *p.max(axis=0)] for p in polygons], np.float32)
    return Detections.create(boxes, scores, label, polygons=polygons)


def _unclip(quad: npt.NDArray[np.float32], unclip_ratio: float) -> Polygon | None:
    perimeter = cv2.arcLength(quad, True)
    if perimeter < 1e-6:
        return None
    distance = cv2.contourArea(quad) * unclip_ratio / perimeter
    offset = pyclipper.PyclipperOffset()
    path = np.round(quad * _CLIPPER_SCALE).astype(np.int64).tolist()
    offset.AddPath(path, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = offset.Execute(distance * _CLIPPER_SCALE)
    if not grown:
        return None
    points = np.concatenate([np.asarray(p, np.float32) for p in grown]) / _CLIPPER_SCALE
    rect = cv2.minAreaRect(points)
    if min(rect[1]) < 1.0:
        return None
    quad_out: Polygon = cv2.boxPoints(rect).astype(np.float32)
    return quad_out


def _mean_inside(prob: npt.NDArray[np.float32], points: npt.NDArray[np.int32]) -> float:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    local = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(local, [(points - [x0, y0]).astype(np.int32)], 1)
    return float(prob[y0 : y1 + 1, x0 : x1 + 1][local.astype(bool)].mean())
