"""LPD-YuNet priors, decoding and the detector, on a tiny synthetic model with LPD-YuNet's I/O.

The synthetic model's outputs are constant tables; its plate confidence is scaled by the mean of the
network's first input channel (blue: LPD-YuNet takes BGR) / 255. Anchor ``K`` scores the square root
of that mean, anchor ``K_BIG`` (same cell, bigger box) slightly less, every other anchor 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from veil.detection.base import Detector
from veil.detection.lpd_yunet import LpdYuNetDetector, decode_lpd_yunet, lpd_yunet_priors, order_corners
from veil.errors import ConfigError, UnsupportedFrameError
from veil.pipeline.config import DetectionConfig
from veil.types import ObjectClass

CONFIG = DetectionConfig(intra_op_threads=1)
ANCHORS = 4385
K = (10 * 40 + 20) * 3 + 0  # level 0, row 10, column 20, min size 10
K_BIG = K + 1  # same cell, min size 16
# Corner offsets in units of 0.1 × prior size: TL, TR, BR, BL at ±5 → a square one prior size wide.
CORNER_OFFSETS = {4: (-5, -5), 6: (5, -5), 10: (5, 5), 12: (-5, 5)}


def write_fake_lpd(path: Path, size_factor: float = 1.0) -> Path:
    """Write the fake model; ``size_factor`` scales the quads (1: one prior size wide)."""
    loc = np.zeros((ANCHORS, 14), np.float32)
    for column, offset in CORNER_OFFSETS.items():
        loc[[K, K_BIG], column : column + 2] = np.multiply(offset, size_factor)
    conf = np.zeros((ANCHORS, 2), np.float32)
    conf[K, 1], conf[K_BIG, 1] = 1.0, 0.81
    iou = np.zeros((ANCHORS, 1), np.float32)
    iou[[K, K_BIG]] = 1.0
    tables = {"loc_t": loc, "conf_t": conf, "iou_t": iou}
    nodes = [
        helper.make_node("Slice", ["input", "c0", "c1", "c1"], ["blue"]),
        helper.make_node("ReduceMean", ["blue"], ["mean"], keepdims=0),
        helper.make_node("Div", ["mean", "k255"], ["level"]),
        helper.make_node("Mul", ["conf_t", "level"], ["conf"]),
        helper.make_node("Identity", ["loc_t"], ["loc"]),
        helper.make_node("Identity", ["iou_t"], ["iou"]),
    ]
    weights = [numpy_helper.from_array(array, name) for name, array in tables.items()]
    weights += [
        helper.make_tensor("c0", TensorProto.INT64, [1], [0]),
        helper.make_tensor("c1", TensorProto.INT64, [1], [1]),
        helper.make_tensor("k255", TensorProto.FLOAT, [], [255.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "fake_lpd",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 240, 320])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [ANCHORS, width])
            for name, width in (("loc", 14), ("conf", 2), ("iou", 1))
        ],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_lpd(tmp_path_factory.mktemp("lpd") / "lpd.onnx")


@pytest.fixture(scope="module")
def detector(model_path: Path) -> LpdYuNetDetector:
    return LpdYuNetDetector(model_path, CONFIG, min_score=0.5)


def test_priors_layout() -> None:
    priors = lpd_yunet_priors()
    assert priors.shape == (ANCHORS, 4)
    np.testing.assert_allclose(priors[0], [4 / 320, 4 / 240, 10 / 320, 10 / 240])
    np.testing.assert_allclose(priors[K], [20.5 * 8 / 320, 10.5 * 8 / 240, 10 / 320, 10 / 240])
    np.testing.assert_allclose(priors[K_BIG, 2:], [16 / 320, 16 / 240])
    # Level sizes 30×40×3, 15×20×2, 7×10×2, 3×5×3; the last prior is the biggest at the last cell.
    assert int(np.flatnonzero(priors[:, 2] == 128 / 320)[0]) == 3600 + 600 + 140
    np.testing.assert_allclose(priors[-1], [4.5 * 64 / 320, 2.5 * 64 / 240, 256 / 320, 256 / 240])


def test_is_a_plate_detector(detector: LpdYuNetDetector) -> None:
    assert isinstance(detector, Detector)
    assert detector.classes == frozenset({ObjectClass.LICENSE_PLATE})


def test_plate_quad_in_image_pixels(detector: LpdYuNetDetector) -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, :, 2] = 255  # blue in RGB
    original = img.copy()
    found = detector.detect(img)
    np.testing.assert_array_equal(img, original)
    assert len(found) == 1  # the bigger anchor overlaps it (IoU 0.39) and scores lower: suppressed
    assert found.scores[0] == pytest.approx(1.0)
    # Anchor K is a 10×10 square centred on (164, 84) in the 320×240 input; the image is twice as big.
    expected = np.array([[318, 158], [338, 158], [338, 178], [318, 178]], np.float32)
    polygon = found.polygon(0)
    assert polygon is not None and polygon.shape == (4, 2) and polygon.dtype == np.float32
    np.testing.assert_allclose(polygon, expected, atol=1e-3)
    np.testing.assert_allclose(found.boxes_xyxy[0], [318, 158, 338, 178], atol=1e-3)
    assert list(found.labels) == [ObjectClass.LICENSE_PLATE]


@pytest.mark.parametrize(("size_factor", "count"), [(11.0, 1), (13.0, 0)])
def test_quads_taller_than_half_the_image_are_not_plates(
    tmp_path: Path, size_factor: float, count: int
) -> None:
    # Anchor K's prior is 10 px in the 240 px tall input: 11× is 110 px (46 %), 13× is 130 px (54 %).
    det = LpdYuNetDetector(write_fake_lpd(tmp_path / "big.onnx", size_factor), CONFIG, min_score=0.5)
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, :, 2] = 255
    assert len(det.detect(img)) == count


def test_red_is_not_blue(detector: LpdYuNetDetector) -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, :, 0] = 255
    found = detector.detect(img)
    assert len(found) == 0


@pytest.mark.parametrize(("min_score", "count"), [(0.6, 1), (0.7, 0)])
def test_min_score_cuts_candidates(model_path: Path, min_score: float, count: int) -> None:
    det = LpdYuNetDetector(model_path, CONFIG, min_score=min_score)
    img = np.full((120, 160, 3), (0, 0, 100), np.uint8)  # scores sqrt(100/255) = 0.63 and 0.9 × that
    found = det.detect(img)
    assert len(found) == count
    if count:
        assert found.scores[0] == pytest.approx(np.sqrt(100 / 255), rel=1e-3)
        np.testing.assert_allclose(found.boxes_xyxy[0], [79.5, 39.5, 84.5, 44.5], atol=1e-3)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 5, 3), np.uint8), np.zeros((5, 5, 1), np.uint8), np.zeros((5, 5, 3), np.float64)],
    ids=["empty", "one-channel", "float64"],
)
def test_unsupported_frames(detector: LpdYuNetDetector, bad: np.ndarray) -> None:
    with pytest.raises(UnsupportedFrameError):
        detector.detect(bad)


def test_min_score_range(model_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_score"):
        LpdYuNetDetector(model_path, CONFIG, min_score=-1.0)


def test_decode_formula() -> None:
    priors = np.array([[0.5, 0.5, 0.1, 0.2], [0.1, 0.1, 0.1, 0.1]], np.float32)
    loc = np.zeros((2, 14), np.float32)
    loc[0, 4:6] = [-5, -2]  # TL
    loc[0, 6:8] = [5, -2]  # TR
    loc[0, 8:10] = [99, 99]  # not a corner column
    loc[0, 10:12] = [5, 2]  # BR
    loc[0, 12:14] = [-5, 2]  # BL
    conf = np.array([[0.0, 0.64], [0.0, 0.1]], np.float32)
    iou = np.array([[1.0], [1.0]], np.float32)
    corners, scores = decode_lpd_yunet(loc, conf, iou, priors, min_score=0.5)
    np.testing.assert_allclose(scores, [0.8])
    np.testing.assert_allclose(
        corners[0], [[0.45, 0.46], [0.55, 0.46], [0.55, 0.54], [0.45, 0.54]], rtol=1e-5
    )


@pytest.mark.parametrize("shift", range(4))
@pytest.mark.parametrize("mirrored", [False, True])
def test_order_corners_any_start_and_winding(shift: int, mirrored: bool) -> None:
    # A slanted plate: TL, TR, BR, BL.
    quad = np.array([[10, 20], [60, 25], [62, 40], [12, 35]], np.float32)
    given = np.roll(quad[::-1] if mirrored else quad, shift, axis=0)
    np.testing.assert_array_equal(order_corners(given[None])[0], quad)
