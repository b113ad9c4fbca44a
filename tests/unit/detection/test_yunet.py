"""YuNet decoding and the detector's pre/post-processing, on a tiny synthetic ONNX model.

The synthetic model mimics YuNet's outputs: on the stride-32 level each cell scores the mean of the
network's first input channel (blue, since YuNet takes BGR) / 255, and its box is the cell itself;
the stride-8 and stride-16 levels score 0.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from veil.detection.base import Detector
from veil.detection.yunet import YuNetDetector, decode_yunet_level
from veil.errors import ConfigError, ModelError, UnsupportedFrameError
from veil.pipeline.config import DetectionConfig
from veil.types import ObjectClass

CONFIG = DetectionConfig(intra_op_threads=1)


def _level_nodes(stride: int, live: bool) -> list[onnx.NodeProto]:
    s = str(stride)
    return [
        helper.make_node(
            "AveragePool", ["input"], [f"pool{s}"], kernel_shape=[stride, stride], strides=[stride, stride]
        ),
        helper.make_node("Slice", [f"pool{s}", "c0", "c1", "c1"], [f"blue{s}"]),  # channel 0 of NCHW
        helper.make_node("Div", [f"blue{s}", "k255" if live else "big"], [f"v{s}"]),
        helper.make_node("Reshape", [f"v{s}", "shape_a1"], [f"cls_{s}"]),
        helper.make_node("Identity", [f"cls_{s}"], [f"obj_{s}"]),
        helper.make_node("Mul", [f"cls_{s}", "zero"], [f"z{s}"]),
        helper.make_node("Add", [f"z{s}", "half"], [f"h{s}"]),
        # dx = dy = 0.5 (box centred on the cell), log w = log h = 0 (box one stride wide)
        helper.make_node("Concat", [f"h{s}", f"h{s}", f"z{s}", f"z{s}"], [f"bbox_{s}"], axis=2),
        helper.make_node("Concat", [f"z{s}"] * 10, [f"kps_{s}"], axis=2),
    ]


def write_fake_yunet(path: Path) -> Path:
    """Write a YuNet-shaped model (dynamic H, W) whose stride-32 cells detect blue."""
    nodes = [n for stride in (8, 16, 32) for n in _level_nodes(stride, live=stride == 32)]
    consts = [
        helper.make_tensor("c0", TensorProto.INT64, [1], [0]),
        helper.make_tensor("c1", TensorProto.INT64, [1], [1]),
        helper.make_tensor("k255", TensorProto.FLOAT, [], [255.0]),
        helper.make_tensor("big", TensorProto.FLOAT, [], [1e9]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        helper.make_tensor("shape_a1", TensorProto.INT64, [3], [1, -1, 1]),
    ]
    widths = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}
    outputs = [
        helper.make_tensor_value_info(f"{kind}_{s}", TensorProto.FLOAT, [1, f"anchors{s}", width])
        for kind, width in widths.items()
        for s in (8, 16, 32)
    ]
    graph = helper.make_graph(
        nodes,
        "fake_yunet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])],
        outputs,
        initializer=consts,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> YuNetDetector:
    path = write_fake_yunet(tmp_path_factory.mktemp("yunet") / "fake_yunet.onnx")
    return YuNetDetector(path, CONFIG, min_score=0.3)


def image(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


def test_is_a_face_detector(detector: YuNetDetector) -> None:
    assert isinstance(detector, Detector)
    assert detector.classes == frozenset({ObjectClass.FACE})


def test_blue_cell_is_found_where_it_is(detector: YuNetDetector) -> None:
    img = image(70, 100)  # padded to 96×128 inside
    img[32:64, 64:96, 2] = 255  # blue in RGB
    original = img.copy()
    found = detector.detect(img)
    np.testing.assert_array_equal(img, original)
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes_xyxy[0], [64, 32, 96, 64])
    assert found.scores[0] == pytest.approx(1.0)
    assert list(found.labels) == [ObjectClass.FACE]


def test_red_is_not_blue(detector: YuNetDetector) -> None:
    img = image(64, 64)
    img[:, :, 0] = 255  # red in RGB: the model must see it in its last channel
    assert len(detector.detect(img)) == 0


def test_every_scoring_cell_is_returned(detector: YuNetDetector) -> None:
    img = image(64, 96)
    img[:, :, 2] = 255
    found = detector.detect(img)
    assert len(found) == 6  # 2 rows × 3 columns of stride-32 cells, none overlapping
    assert sorted(map(tuple, found.boxes_xyxy.tolist()))[0] == (0, 0, 32, 32)


def test_boxes_reaching_into_padding_are_clipped(tmp_path: Path) -> None:
    det = YuNetDetector(write_fake_yunet(tmp_path / "m.onnx"), CONFIG, min_score=0.01)
    img = image(70, 100)
    img[64:70, 96:100, 2] = 255  # the corner cell [96,128)×[64,96) is mostly padding
    found = det.detect(img)
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes_xyxy[0], [96, 64, 100, 70])
    assert found.scores[0] == pytest.approx(24 / 1024)


def test_blank_image_finds_nothing(detector: YuNetDetector) -> None:
    found = detector.detect(image(1, 1))
    assert len(found) == 0
    assert found.boxes_xyxy.shape == (0, 4)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 0, 3), np.uint8),
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3), np.float32),
    ],
    ids=["no-rows", "no-cols", "grey", "rgba", "float"],
)
def test_unsupported_frames(detector: YuNetDetector, bad: np.ndarray) -> None:
    with pytest.raises(UnsupportedFrameError):
        detector.detect(bad)


@pytest.mark.parametrize("score", [-0.1, 1.5])
def test_min_score_range(tmp_path: Path, score: float) -> None:
    with pytest.raises(ConfigError, match="min_score"):
        YuNetDetector(tmp_path / "never-read.onnx", CONFIG, min_score=score)


def test_wrong_model_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "identity.onnx"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["out"])],
        "identity",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, "h", "w"])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    with pytest.raises(ModelError, match="not a YuNet model"):
        YuNetDetector(path, CONFIG)


def test_decode_level_formula() -> None:
    # 2×3 grid at stride 16; anchor 4 is row 1, col 1.
    cls = np.zeros((1, 6, 1), np.float32)
    obj = np.zeros((1, 6, 1), np.float32)
    cls[0, 4], obj[0, 4] = 0.81, 1.0
    cls[0, 0], obj[0, 0] = 0.5, 0.1  # sqrt(0.05) ≈ 0.22: below the threshold
    bbox = np.zeros((1, 6, 4), np.float32)
    bbox[0, 4] = [0.25, -0.5, math.log(2), 0.0]
    boxes, scores = decode_yunet_level(cls, obj, bbox, stride=16, grid_width=3, min_score=0.3)
    np.testing.assert_allclose(scores, [0.9])
    cx, cy, w, h = (1 + 0.25) * 16, (1 - 0.5) * 16, 32, 16
    np.testing.assert_allclose(boxes, [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], rtol=1e-6)


def test_decode_clips_scores_into_unit_range() -> None:
    cls = np.array([[[1.7]], [[-0.2]]], np.float32).reshape(1, 2, 1)
    obj = np.ones((1, 2, 1), np.float32)
    _, scores = decode_yunet_level(
        cls, obj, np.zeros((1, 2, 4), np.float32), stride=8, grid_width=2, min_score=0
    )
    np.testing.assert_allclose(scores, [1.0, 0.0])
