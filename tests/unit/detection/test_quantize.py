"""int8 quantization: a tiny convolutional graph quantized for real, agreement, the bar, the cached record.

The backend tests quantize the synthetic LPD-YuNet of ``test_lpd_yunet`` (it finds one plate on a blue
frame), registered in the catalog under its own sha256 so the store accepts it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_lpd_yunet import write_fake_lpd

from veil.detection import registry
from veil.detection.quantize import (
    AGREEMENT_BAR,
    Agreement,
    AgreementBar,
    find_quantized,
    int8_model,
    measure_agreement,
    quantize_backend,
    quantize_onnx,
)
from veil.detection.settings import DetectionConfig, Precision
from veil.detections import Detections
from veil.errors import ModelError
from veil.models import store
from veil.models.catalog import CATALOG
from veil.pipeline.config import PipelineConfig
from veil.types import Image, ObjectClass

RNG = np.random.default_rng(0)


def tiny_conv_model(opset: int = 11) -> bytes:
    """Conv(3→8) → Relu → Conv(8→1) → Sigmoid: a detector's body and score head, at ``opset``."""
    w1 = numpy_helper.from_array(RNG.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(RNG.normal(0, 0.3, (1, 8, 1, 1)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="body"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="head"),
        helper.make_node("Sigmoid", ["c2"], ["score"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1, "H", "W"])],
        initializer=[w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=7)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _run(model: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"x": x})
    return np.asarray(out)


def test_quantize_onnx_is_int8_qdq_at_opset_13_with_a_float_head() -> None:
    feeds = [{"x": RNG.uniform(0, 1, (1, 3, 16, 24)).astype(np.float32)} for _ in range(4)]
    float_model = tiny_conv_model(opset=11)
    quantized = onnx.load_from_string(quantize_onnx(float_model, feeds))
    opset = max(o.version for o in quantized.opset_import if o.domain in ("", "ai.onnx"))
    assert opset >= 13  # converted first: per-channel QDQ needs per-axis QuantizeLinear
    ops = [n.op_type for n in quantized.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    int8_weights = [i for i in quantized.graph.initializer if i.data_type == TensorProto.INT8]
    assert int8_weights, "the body's weights are int8"
    # Per channel: one scale per output channel of the body's 8-filter convolution.
    scales = [
        i for i in quantized.graph.initializer if tuple(i.dims) == (8,) and i.data_type == TensorProto.FLOAT
    ]
    assert scales
    # The score head stays float, so a score is never capped at the highest seen in calibration.
    head_weights = {i.name: i for i in quantized.graph.initializer}["w2"]
    assert head_weights.data_type == TensorProto.FLOAT
    x = RNG.uniform(0, 1, (1, 3, 32, 40)).astype(np.float32)  # another size: shapes stay dynamic
    np.testing.assert_allclose(_run(quantized.SerializeToString(), x), _run(float_model, x), atol=0.05)


def test_quantize_onnx_needs_frames_and_a_model() -> None:
    with pytest.raises(ModelError, match="at least one frame"):
        quantize_onnx(tiny_conv_model(), [])
    with pytest.raises(ModelError, match="cannot quantize"):
        quantize_onnx(b"not a model", [{"x": np.zeros((1, 3, 8, 8), np.float32)}])


class Table:
    """A detector answering from a table: image → its regions (boxes and scores)."""

    classes = frozenset({ObjectClass.FACE})

    def __init__(self, answers: dict[int, list[tuple[list[float], float]]]) -> None:
        self.answers = answers

    def detect(self, image: Image) -> Detections:
        regions = self.answers.get(int(image[0, 0, 0]), [])
        if image.shape[0] < 64:  # shifted by a pixel: the same regions, moved with it
            regions = [([v - 1 for v in box], score) for box, score in regions]
        if not regions:
            return Detections.empty()
        return Detections.create([b for b, _ in regions], [s for _, s in regions], ObjectClass.FACE)


def _images(count: int) -> list[Image]:
    return [np.full((64, 64, 3), i, np.uint8) for i in range(count)]


def test_agreement_of_identical_detectors_is_whole() -> None:
    answers = {i: [([10.0, 10.0, 30.0, 30.0], 0.9)] for i in range(4)}
    agreement = measure_agreement(Table(answers), Table(answers), _images(4), score_threshold=0.5)
    assert agreement == Agreement(0.5, 4, 4, 1.0, 1.0, 0.0, 1.0)


def test_agreement_counts_misses_weak_scores_moved_boxes_and_extras() -> None:
    reference = {
        0: [([10.0, 10.0, 30.0, 30.0], 0.9)],
        1: [([10.0, 10.0, 30.0, 30.0], 0.9)],
        2: [([10.0, 10.0, 30.0, 30.0], 0.9)],
        3: [([10.0, 10.0, 30.0, 30.0], 0.3)],
    }
    int8 = {
        0: [([10.0, 10.0, 30.0, 30.0], 0.9)],  # found
        1: [([10.0, 10.0, 30.0, 30.0], 0.4)],  # below the threshold: as good as missed
        2: [([12.0, 10.0, 32.0, 30.0], 0.8), ([40.0, 40.0, 60.0, 60.0], 0.8)],  # moved; one extra
        3: [([10.0, 10.0, 30.0, 30.0], 0.9)],  # float's region is below the threshold: not counted
    }
    agreement = measure_agreement(Table(reference), Table(int8), _images(4), score_threshold=0.5)
    assert agreement.float_regions == 3
    assert agreement.recall == pytest.approx(2 / 3)
    assert agreement.mean_iou == pytest.approx((1.0 + 18 / 22) / 2)
    assert agreement.extra_ratio == pytest.approx(2 / 3)  # the extra box, and image 3's unmatched one
    assert agreement.reference_recall == 1.0


@pytest.mark.parametrize(
    ("regions", "recall", "reference", "iou", "passes"),
    [
        (20, 0.96, 1.00, 0.9, True),  # stable model: 95 % is asked for
        (20, 0.94, 1.00, 0.9, False),
        (20, 0.80, 0.75, 0.9, True),  # float itself moves this much under a 1-px shift
        (20, 0.70, 0.75, 0.9, False),
        (20, 1.00, 1.00, 0.7, False),  # boxes moved too far
        (9, 1.00, 1.00, 1.0, False),  # too few regions to have measured anything
    ],
)
def test_bar(regions: int, recall: float, reference: float, iou: float, passes: bool) -> None:
    agreement = Agreement(0.5, 30, regions, recall, iou, 0.0, reference)
    assert AGREEMENT_BAR.passes(agreement) is passes


@pytest.fixture
def fake_lpd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder holding the synthetic LPD-YuNet, pinned in the catalog; a private cache."""
    folder = tmp_path / "models"
    folder.mkdir()
    spec = CATALOG["lpd_yunet"]
    path = write_fake_lpd(folder / spec.filename)
    data = path.read_bytes()
    pinned = replace(spec, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    monkeypatch.setattr(store, "CATALOG", {**CATALOG, "lpd_yunet": pinned})
    monkeypatch.setenv(store.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(store.OFFLINE_ENV, "1")
    monkeypatch.delenv(store.MODELS_DIR_ENV, raising=False)
    return folder


def _plates(count: int) -> list[Image]:
    frames = [np.zeros((240, 320, 3), np.uint8) for _ in range(count)]
    for i, frame in enumerate(frames):
        frame[:, :, 2] = 200 + 2 * i  # blue: the synthetic model scores one plate per frame
    return frames


def test_quantized_backend_is_recorded_with_its_agreement(fake_lpd: Path) -> None:
    made = quantize_backend("lpd_yunet", _plates(4), _plates(12), models_dir=fake_lpd)
    assert made.derived and made.passed
    assert made.agreement.float_regions == 12 and made.agreement.recall == 1.0
    record = json.loads(made.path.with_name(made.path.name + ".sha256.json").read_text())
    assert record["sha256"] == hashlib.sha256(made.path.read_bytes()).hexdigest()
    assert record["source_sha256"] == store.file_sha256(fake_lpd / CATALOG["lpd_yunet"].filename)
    assert record["agreement"]["recall"] == 1.0 and record["passed"] is True
    assert record["bar"] == {"min_regions": 10, "recall_cap": 0.95, "min_mean_iou": 0.8}
    found = find_quantized("lpd_yunet", models_dir=fake_lpd)
    assert found is not None and not found.derived and found.passed and found.path == made.path
    assert found.agreement == made.agreement
    assert int8_model("lpd_yunet", fake_lpd / CATALOG["lpd_yunet"].filename) == made.path.read_bytes()
    statuses = [s for s in store.verify_models(fake_lpd) if s.key == store.DERIVED_KEY]
    assert [(s.path, s.ok) for s in statuses] == [(made.path, True)]


def test_tampered_int8_model_is_refused_then_derived_again(
    fake_lpd: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from veil.pipeline.quantize import quantize_detectors

    made = quantize_backend("lpd_yunet", _plates(4), _plates(12), models_dir=fake_lpd)
    made.path.write_bytes(made.path.read_bytes() + b"\0")
    source = fake_lpd / CATALOG["lpd_yunet"].filename
    with caplog.at_level(logging.WARNING):
        assert int8_model("lpd_yunet", source) is None
    assert "has changed since it was derived" in caplog.text and "float32" in caplog.text
    assert find_quantized("lpd_yunet", models_dir=fake_lpd) is None
    assert not next(s for s in store.verify_models(fake_lpd) if s.key == store.DERIVED_KEY).ok
    frames = fake_lpd.parent / "frames"
    frames.mkdir()
    from PIL import Image as PILImage

    for i, frame in enumerate(_plates(24)):
        PILImage.fromarray(frame).save(frames / f"{i:02d}.png")
    [again] = quantize_detectors([frames], models_dir=fake_lpd, backends=["lpd_yunet"])
    assert again.derived and again.passed and again.path == made.path
    assert int8_model("lpd_yunet", source) == made.path.read_bytes()
    # A checked one is kept: no frames are read (the folder is gone).
    for png in frames.iterdir():
        png.unlink()
    [kept] = quantize_detectors([frames], models_dir=fake_lpd, backends=["lpd_yunet"])
    assert not kept.derived


class Recorder:
    """Stands in for a backend class: records the options it was built with."""

    made: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, model_path: Path, config: DetectionConfig, **options: Any) -> None:
        Recorder.made.append(options)


def _built_options(monkeypatch: pytest.MonkeyPatch, models_dir: Path, precision: Precision) -> dict[str, Any]:
    Recorder.made = []
    config = PipelineConfig(detection=DetectionConfig(precision=precision), models_dir=models_dir)
    with monkeypatch.context() as patch:
        patch.setattr(registry, "backend_class", lambda name: Recorder)
        registry.create_backend("lpd_yunet", config, min_score=0.5)
    [options] = Recorder.made
    return options


def test_registry_picks_int8_only_when_asked_and_passed(
    fake_lpd: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert _built_options(monkeypatch, fake_lpd, Precision.INT8) == {"min_score": 0.5}
    assert "no checked int8 model of lpd_yunet" in caplog.text
    made = quantize_backend("lpd_yunet", _plates(4), _plates(12), models_dir=fake_lpd)
    assert _built_options(monkeypatch, fake_lpd, Precision.FLOAT32) == {"min_score": 0.5}
    options = _built_options(monkeypatch, fake_lpd, Precision.INT8)
    assert options == {"min_score": 0.5, "int8_model": made.path.read_bytes()}
    # Below the bar: the file is there, checked, and still not used.
    failing = quantize_backend(
        "lpd_yunet", _plates(4), _plates(12), models_dir=fake_lpd, bar=AgreementBar(13, 0.95, 0.8)
    )
    assert not failing.passed
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _built_options(monkeypatch, fake_lpd, Precision.INT8) == {"min_score": 0.5}
    assert "below the bar" in caplog.text and "float32" in caplog.text


def test_backend_without_int8_is_unknown(fake_lpd: Path) -> None:
    from veil.errors import UnknownComponentError

    with pytest.raises(UnknownComponentError, match="centerface, lpd_yunet, ppocr_text"):
        quantize_backend("yolox", _plates(1), _plates(1), models_dir=fake_lpd)


def test_default_precision_is_float32() -> None:
    assert DetectionConfig().precision is Precision.FLOAT32
    assert PipelineConfig().detection.precision is Precision.FLOAT32
