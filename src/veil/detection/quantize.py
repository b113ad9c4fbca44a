"""Derive int8 detector models from the pinned float ones, and measure how far they agree with float.

Static quantization with ONNX Runtime's own tool (QDQ format, int8 weights per output channel, uint8
activations calibrated by min/max on frames the caller gives), only for the detectors where int8 pays
on a CPU with VNNI: CenterFace, LPD-YuNet and the PP-OCR text detector (figures: docs/tuning.md,
"int8 detectors"). Each quantized model is written into the cache's derived folder with its sha256 and
its agreement with the float model on held-out frames; one below :data:`AGREEMENT_BAR` is kept there
(so the figure can be read) but never loaded: the detector runs in float.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from veil.detection.resize import downscale
from veil.detection.settings import DetectionConfig
from veil.detections import Detections
from veil.errors import ModelError
from veil.geometry import iou_matrix
from veil.models.store import read_derived_model, resolve_model, write_derived_model
from veil.types import Image

__all__ = [
    "AGREEMENT_BAR",
    "RECIPES",
    "Agreement",
    "AgreementBar",
    "QuantizeRecipe",
    "QuantizedModel",
    "find_quantized",
    "int8_model",
    "measure_agreement",
    "quantize_backend",
    "quantize_onnx",
]

_log = logging.getLogger(__name__)

Boxes = npt.NDArray[np.float32]

# Per-channel QDQ needs opset 13 (per-axis QuantizeLinear); older models are converted first.
_MIN_OPSET = 13
# A float region counts as found by int8 when an int8 region overlaps it this much.
_MATCH_IOU = 0.5
# An output's head: the nodes after its last weighted layer, which is kept too (see _output_heads).
_WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})
_MAX_HEAD_NODES = 8


@dataclass(frozen=True)
class QuantizeRecipe:
    """How one detector backend is quantized and checked.

    Args:
        backend: the registry's backend name.
        model_key: the catalog model it loads.
        kind: the derived file's kind (its name in the cache); a new recipe takes a new kind.
        long_side_px: frames are shrunk to this long side before calibration and agreement: the size
            the registry runs the detector at (0: the detector resizes them itself).
        score_threshold: agreement is measured on regions scoring at least this: the least score its
            class needs at the standard privacy level (or the detector's own floor, where higher).
        options: keyword options for the backend class (the registry's, where they set the input size).
    """

    backend: str
    model_key: str
    kind: str
    score_threshold: float
    long_side_px: int = 0
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


RECIPES: Mapping[str, QuantizeRecipe] = MappingProxyType(
    {
        # CenterFace runs on frames shrunk to a long side of 480 (registry.py).
        "centerface": QuantizeRecipe(
            "centerface", "centerface", "centerface-int8", score_threshold=0.35, long_side_px=480
        ),
        # LPD-YuNet resizes every image to its fixed 320×240 input.
        "lpd_yunet": QuantizeRecipe("lpd_yunet", "lpd_yunet", "lpd_yunet-int8", score_threshold=0.5),
        # The text detector's plate search runs at a long side of 640 (registry.py); whole-image text
        # at 960 uses the same model.
        "ppocr_text": QuantizeRecipe(
            "ppocr_text",
            "ppocr_det",
            "ppocr_det-int8",
            score_threshold=0.6,  # the detector's own floor (min_score), above the plate threshold 0.5
            options=MappingProxyType({"max_long_side_px": 640}),
        ),
    }
)
"""Backend name → recipe, for the backends that have an int8 variant."""


@dataclass(frozen=True)
class Agreement:
    """How far a quantized detector's regions agree with the float detector's on the same frames.

    Args:
        score_threshold: regions are compared where they score at least this (both models).
        frames: held-out frames compared.
        float_regions: regions the float detector found on them.
        recall: share of those an int8 region overlaps with IoU >= 0.5 (1.0 when there were none).
        mean_iou: mean IoU of each found float region with its best int8 region.
        extra_ratio: int8 regions no float region overlaps, per float region (false alarms added).
        reference_recall: the float detector's recall of its own regions on the same frames shifted by
            one pixel: how much a change no one can see already moves the model.
    """

    score_threshold: float
    frames: int
    float_regions: int
    recall: float
    mean_iou: float
    extra_ratio: float
    reference_recall: float


@dataclass(frozen=True)
class AgreementBar:
    """The least agreement with which an int8 model is used in place of float.

    Args:
        min_regions: float regions the held-out frames must hold; fewer measure nothing, and the model
            stays float.
        recall_cap: the recall asked for is the float model's own under a one-pixel shift
            (:attr:`Agreement.reference_recall`), but never more than this.
        min_mean_iou: the least mean IoU of the matched regions.
    """

    min_regions: int
    recall_cap: float
    min_mean_iou: float

    def required_recall(self, agreement: Agreement) -> float:
        """Return the recall ``agreement`` must reach."""
        return min(self.recall_cap, agreement.reference_recall)

    def passes(self, agreement: Agreement) -> bool:
        """Return whether ``agreement`` reaches the bar."""
        return (
            agreement.float_regions >= self.min_regions
            and agreement.recall >= self.required_recall(agreement)
            and agreement.mean_iou >= self.min_mean_iou
        )


# int8 may change a detector's regions no more than moving the picture by one pixel does (a change the
# temporal engine already copes with), up to 95 %; why these figures: docs/tuning.md, "int8 detectors".
AGREEMENT_BAR = AgreementBar(min_regions=10, recall_cap=0.95, min_mean_iou=0.8)


@dataclass(frozen=True)
class QuantizedModel:
    """What quantizing one backend gave.

    Args:
        backend: the registry's backend name.
        path: the int8 model in the derived folder.
        agreement: measured on held-out frames when it was derived.
        passed: the agreement reaches the bar it was derived under: runs asking for int8 load it.
        derived: derived now (``False``: a checked copy was already in the cache).
    """

    backend: str
    path: Path
    agreement: Agreement
    passed: bool
    derived: bool


def quantize_onnx(model: bytes, feeds: Sequence[Mapping[str, npt.NDArray[np.float32]]]) -> bytes:
    """Return ``model`` quantized to int8 (QDQ, per-channel weights), calibrated by min/max on ``feeds``.

    Raises:
        ModelError: ``model`` cannot be read or quantized, or ``feeds`` is empty.
    """
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not feeds:
        raise ModelError("int8 calibration needs at least one frame")
    try:
        proto = onnx.load_from_string(model)
        opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
        if opset < _MIN_OPSET:
            proto = version_converter.convert_version(proto, _MIN_OPSET)
        with tempfile.TemporaryDirectory(prefix="veil-quantize-") as folder:
            source, prepared, target = (
                Path(folder) / n for n in ("float.onnx", "prepared.onnx", "int8.onnx")
            )
            heads = _output_heads(proto)
            onnx.save(proto, str(source))
            # Shape inference and graph optimization first, as ONNX Runtime's quantizer asks: folded
            # batch norms and constant biases quantize with the weights they belong to.
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(target),
                _Feeds(feeds),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                nodes_to_exclude=heads,
            )
            return target.read_bytes()
    except ModelError:
        raise
    except Exception as exc:  # onnx and ONNX Runtime raise their own untyped errors
        raise ModelError(f"cannot quantize the model: {exc}") from exc


def _output_heads(proto: Any) -> list[str]:
    """Name every node and return those from each output back to its first weighted layer.

    Those stay float: a score quantized with the range seen in calibration is capped at the highest
    score seen there (CenterFace's faces came out below 0.5 when its head was quantized).
    """
    for index, node in enumerate(proto.graph.node):
        if not node.name:
            node.name = f"veil_node_{index}"  # the quantizer excludes nodes by name
    producer = {out: node for node in proto.graph.node for out in node.output}
    heads: list[str] = []
    for output in proto.graph.output:
        node = producer.get(output.name)
        for _ in range(_MAX_HEAD_NODES):
            if node is None:
                break
            heads.append(node.name)
            if node.op_type in _WEIGHTED_OPS or not node.input:
                break
            node = producer.get(node.input[0])
    return sorted(set(heads))


class _Feeds:
    """The calibration reader ONNX Runtime asks for: ``get_next()`` until ``None``."""

    def __init__(self, feeds: Sequence[Mapping[str, npt.NDArray[np.float32]]]) -> None:
        self._feeds: Iterator[Mapping[str, npt.NDArray[np.float32]]] = iter(feeds)

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        feed = next(self._feeds, None)
        return None if feed is None else dict(feed)


def measure_agreement(
    float_detector: Any, int8_detector: Any, images: Sequence[Image], *, score_threshold: float
) -> Agreement:
    """Return how far ``int8_detector``'s regions agree with ``float_detector``'s on ``images``.

    Only regions scoring at least ``score_threshold`` count, in both: a region that falls below the
    threshold a run applies is as good as missed.
    """
    found = extra = total = 0
    ious: list[float] = []
    reference_found = 0
    for image in images:
        reference = _boxes_over(float_detector.detect(image), score_threshold)
        total += len(reference)
        hits, best, unmatched = _compare(reference, _boxes_over(int8_detector.detect(image), score_threshold))
        found += hits
        ious.extend(best)
        extra += unmatched
        # The same picture one pixel down and right; its boxes are moved back before comparing.
        shifted = _boxes_over(float_detector.detect(np.ascontiguousarray(image[1:, 1:])), score_threshold)
        reference_found += _compare(reference, shifted + 1.0)[0]
    return Agreement(
        score_threshold=score_threshold,
        frames=len(images),
        float_regions=total,
        recall=found / total if total else 1.0,
        mean_iou=float(np.mean(ious)) if ious else 1.0,
        extra_ratio=extra / total if total else float(extra),
        reference_recall=reference_found / total if total else 1.0,
    )


def _boxes_over(detections: Detections, score_threshold: float) -> Boxes:
    boxes: Boxes = detections.boxes_xyxy[detections.scores >= score_threshold]
    return boxes


def _compare(reference: Boxes, other: Boxes) -> tuple[int, list[float], int]:
    """Return (``reference`` boxes ``other`` finds, their best IoUs, ``other``'s boxes matching none)."""
    if len(reference) == 0 or len(other) == 0:
        return 0, [], len(other)
    iou = iou_matrix(reference, other)
    best = iou.max(axis=1)
    hit = best >= _MATCH_IOU
    unmatched = int((iou.max(axis=0) < _MATCH_IOU).sum())
    return int(hit.sum()), [float(v) for v in best[hit]], unmatched


def find_quantized(
    backend: str, *, models_dir: Path | None = None, bar: AgreementBar = AGREEMENT_BAR
) -> QuantizedModel | None:
    """Return the checked int8 model of ``backend`` in the cache with its recorded agreement, if any.

    ``None`` when there is none, or its bytes do not match their record, or it was derived from another
    float model (then a warning says which).

    Raises:
        UnknownComponentError: ``backend`` has no int8 recipe.
        ModelNotFoundError: the float model file is missing (the message names it).
    """
    recipe = _recipe(backend)
    float_path = resolve_model(recipe.model_key, models_dir, download=False)
    cached = read_derived_model(recipe.kind, float_path)
    if cached is None:
        return None
    path, agreement, passed = _from_record(recipe, float_path, cached[1], bar)
    return QuantizedModel(backend, path, agreement, passed, derived=False)


def quantize_backend(
    backend: str,
    calibration: Sequence[Image],
    heldout: Sequence[Image],
    *,
    models_dir: Path | None = None,
    config: DetectionConfig | None = None,
    bar: AgreementBar = AGREEMENT_BAR,
) -> QuantizedModel:
    """Derive the int8 model of ``backend``, measure its agreement with float, and cache both.

    Calibrated on ``calibration`` and checked on ``heldout`` (frames, RGB; shrunk here to the size
    the detector runs at); the file replaces any earlier one atomically, with its record.

    Raises:
        UnknownComponentError: ``backend`` has no int8 recipe.
        ModelNotFoundError: the float model file is missing (the message names it).
        ModelError: the model cannot be quantized, or no frames were given.
        OSError: the cache folder cannot be written.
    """
    from veil.detection.registry import backend_class

    recipe = _recipe(backend)
    float_path = resolve_model(recipe.model_key, models_dir, download=False)
    if not calibration or not heldout:
        raise ModelError(f"quantizing {backend} needs calibration and held-out frames")
    run_config = config or DetectionConfig()
    cls = backend_class(backend)
    float_detector = cls(float_path, run_config, **recipe.options)
    sized = [_sized(image, recipe) for image in calibration]
    feeds = [float_detector.network_input(image) for image in sized]
    _log.info("quantizing %s on %d frames", backend, len(feeds))
    data = quantize_onnx(_float_model(backend, float_path), feeds)
    int8_detector = cls(float_path, run_config, int8_model=data, **recipe.options)
    agreement = measure_agreement(
        float_detector,
        int8_detector,
        [_sized(image, recipe) for image in heldout],
        score_threshold=recipe.score_threshold,
    )
    passed = bar.passes(agreement)
    facts = {
        "precision": "int8",
        "backend": backend,
        "calibration_frames": len(feeds),
        "agreement": asdict(agreement),
        "bar": asdict(bar),
        "passed": passed,
    }
    path = write_derived_model(recipe.kind, float_path, data, facts)
    return QuantizedModel(backend, path, agreement, passed, derived=True)


def _recipe(backend: str) -> QuantizeRecipe:
    from veil.errors import UnknownComponentError

    try:
        return RECIPES[backend]
    except KeyError:
        valid = ", ".join(sorted(RECIPES))
        raise UnknownComponentError(f"no int8 model for detector {backend!r}; quantized: {valid}") from None


def _sized(image: Image, recipe: QuantizeRecipe) -> Image:
    return downscale(image, recipe.long_side_px) if recipe.long_side_px else image


def _float_model(backend: str, float_path: Path) -> bytes:
    if backend == "centerface":
        from veil.detection.centerface import cached_dynamic_centerface_model

        # The file as published declares a fixed 32×32 input; the rewritten one runs at any size.
        return cached_dynamic_centerface_model(float_path)
    return float_path.read_bytes()


def _from_record(
    recipe: QuantizeRecipe, float_path: Path, record: Mapping[str, object], bar: AgreementBar
) -> tuple[Path, Agreement, bool]:
    from veil.models.store import derived_model_path

    path = derived_model_path(recipe.kind, float_path)
    agreement = _agreement_of(record)
    passed = agreement is not None and record.get("passed") is True and bar.passes(agreement)
    return path, agreement or Agreement(0.0, 0, 0, 0.0, 0.0, 0.0, 0.0), passed


def _agreement_of(record: Mapping[str, object]) -> Agreement | None:
    raw = record.get("agreement")
    if not isinstance(raw, dict):
        return None
    try:
        return Agreement(
            score_threshold=float(raw["score_threshold"]),
            frames=int(raw["frames"]),
            float_regions=int(raw["float_regions"]),
            recall=float(raw["recall"]),
            mean_iou=float(raw["mean_iou"]),
            extra_ratio=float(raw["extra_ratio"]),
            reference_recall=float(raw["reference_recall"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def int8_model(backend: str, float_path: Path, bar: AgreementBar = AGREEMENT_BAR) -> bytes | None:
    """Return the checked int8 model of ``backend`` derived from ``float_path`` if it passed ``bar``.

    ``None`` (and a log line saying why, so the run is known to be in float) when ``backend`` has no
    int8 recipe, none was derived, the file does not match its record, or its agreement is below the bar.
    """
    recipe = RECIPES.get(backend)
    if recipe is None:
        return None
    cached = read_derived_model(recipe.kind, float_path)
    if cached is None:
        _log.warning(
            "no checked int8 model of %s in the cache (`veil models quantize` derives one); it runs in "
            "float32",
            backend,
        )
        return None
    data, record = cached
    _, agreement, passed = _from_record(recipe, float_path, record, bar)
    if not passed:
        _log.info(
            "the int8 model of %s found %.1f %% of float's regions (mean IoU %.2f, %d regions), below the "
            "bar (%.1f %%, %.2f, %d regions); it runs in float32",
            backend,
            100 * agreement.recall,
            agreement.mean_iou,
            agreement.float_regions,
            100 * bar.required_recall(agreement),
            bar.min_mean_iou,
            bar.min_regions,
        )
        return None
    _log.info("%s runs its int8 model (recall of float regions %.1f %%)", backend, 100 * agreement.recall)
    return data
