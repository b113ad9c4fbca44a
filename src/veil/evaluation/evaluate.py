"""Run anonymization methods over an annotated data set and measure privacy, utility and speed.

Example::

    from veil.evaluation.evaluate import evaluate_dataset
    from veil.evaluation.eval_options import COMPARED_METHODS, EvalOptions

    report = evaluate_dataset(Path("faces/training.xml"), EvalOptions(methods=COMPARED_METHODS))
    print(report.table_text())
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import UnsupportedFrameError
from veil.evaluation.annotations import (
    AnnotatedFrame,
    DatasetFormat,
    detect_format,
    group_by_image,
    load_annotations,
)
from veil.evaluation.average_precision import ImageDetections, average_precision
from veil.evaluation.baselines import GlobalBaseline, apply_baseline
from veil.evaluation.datasets import load_rgb
from veil.evaluation.eval_options import EvalMethod, EvalOptions
from veil.evaluation.eval_report import UTILITY_CLASSES, EvalReport, MethodResult, PrivacyCount
from veil.evaluation.face_attack import FaceReDetector
from veil.evaluation.image_metrics import masked_ssim
from veil.evaluation.leaks import MIN_COVERED, hidden_mask
from veil.evaluation.matching import covered_fraction
from veil.evaluation.ocr_attack import PlateReader, is_read, normalize_plate
from veil.geometry import clip_boxes, scale_boxes
from veil.pipeline.config import DetectionConfig, Method, PipelineConfig
from veil.pipeline.runner import NullProgress, Progress
from veil.types import Image, Mask, ObjectClass

__all__ = ["COUNT_MIN_SCORE", "evaluate_dataset"]

_log = logging.getLogger(__name__)

COUNT_MIN_SCORE = 0.4
"""YOLOX detections at or above this score are counted, and are the reference when nothing is annotated."""
_AP_MIN_SCORE = 0.05  # low, so the precision–recall curve reaches far (AP is threshold-free)

# Veil's rows are its anonymize methods by the same name.
_VEIL_METHODS: Mapping[EvalMethod, Method] = MappingProxyType(
    {m: Method(m.value) for m in EvalMethod if m.is_veil}
)
_BASELINES: Mapping[EvalMethod, GlobalBaseline] = MappingProxyType(
    {
        EvalMethod.GLOBAL_BLUR: GlobalBaseline.GAUSSIAN_BLUR,
        EvalMethod.GLOBAL_NOISE: GlobalBaseline.NOISE,
        EvalMethod.GLOBAL_QUANTIZE: GlobalBaseline.QUANTIZE,
        EvalMethod.GLOBAL_PIXELATE: GlobalBaseline.PIXELATE,
    }
)


@dataclass(frozen=True)
class _Output:
    image: Image
    hidden: Mask
    seconds: float


class _Methods:
    """Produce each method's output for an image; Veil's methods share one detection per image."""

    def __init__(self, options: EvalOptions, detector: Detector | None) -> None:
        from veil.anonymizers.registry import build_anonymizer
        from veil.detection.registry import build_detector
        from veil.pipeline.frame_processor import FrameProcessor

        detection = DetectionConfig(intra_op_threads=options.threads)
        base = PipelineConfig(targets=options.targets, models_dir=options.models_dir, detection=detection)
        self._config = base
        self._processors = {}
        veil = [m for m in options.methods if m.is_veil]
        if veil:
            shared = detector or build_detector(base.targets, base)
            for method in veil:
                config = PipelineConfig(
                    targets=base.targets,
                    default_method=_VEIL_METHODS[method],
                    models_dir=base.models_dir,
                    detection=detection,
                )
                self._processors[method] = FrameProcessor(config, shared, build_anonymizer(config))
        self._found: Detections | None = None
        self._detect_s = 0.0

    def start_image(self, image: Image) -> None:
        """Detect once on ``image`` for all of Veil's methods."""
        self._found = None
        if self._processors:
            started = time.perf_counter()
            self._found = next(iter(self._processors.values())).detect(image)
            self._detect_s = time.perf_counter() - started

    def run(self, method: EvalMethod, image: Image, seed: int) -> _Output:
        """Return ``method``'s output for ``image`` and the pixels it hid."""
        started = time.perf_counter()
        height, width = image.shape[:2]
        if method is EvalMethod.ORIGINAL:
            return _Output(image, np.zeros((height, width), bool), 0.0)
        if method in _BASELINES:
            out = apply_baseline(_BASELINES[method], image, seed=seed)
            return _Output(out, np.ones((height, width), bool), time.perf_counter() - started)
        assert self._found is not None
        processed = self._processors[method].process(image, 0, self._found)
        hidden = hidden_mask(self._found, self._config, (height, width))
        return _Output(processed.image, hidden, time.perf_counter() - started + self._detect_s)


class _Attacks:
    """The privacy attacks and the utility detector, loaded once."""

    def __init__(self, options: EvalOptions, classes: set[ObjectClass], bodies: Detector | None) -> None:
        detection = DetectionConfig(intra_op_threads=options.threads)
        self.faces = (
            FaceReDetector(options.models_dir, detection=detection) if ObjectClass.FACE in classes else None
        )
        wants_text = classes & {ObjectClass.LICENSE_PLATE, ObjectClass.TEXT}
        self.reader = PlateReader() if wants_text else None
        if bodies is None:
            from veil.detection.yolox import YoloxDetector
            from veil.models.store import resolve_model

            bodies = YoloxDetector(
                resolve_model("yolox_nano", options.models_dir), detection, min_score=_AP_MIN_SCORE
            )
        self.bodies = bodies


def evaluate_dataset(
    dataset: Path,
    options: EvalOptions | None = None,
    progress: Progress | None = None,
    *,
    dataset_format: DatasetFormat | None = None,
    detector: Detector | None = None,
    bodies: Detector | None = None,
) -> EvalReport:
    """Measure each method of ``options`` on the annotated data set at ``dataset``.

    Privacy recall: the share of annotated objects hidden (≥ 90 % of the box) and, for faces, not found
    again by YuNet or CenterFace, for plates and text, not read by PP-OCRv4. Utility: YOLOX-nano's AP50
    for persons and vehicles on the outputs against the annotations, or, where the set annotates none,
    against YOLOX's own detections (score ≥ 0.4) on the originals; SSIM with the original outside the
    annotated boxes (grown by Veil's margin); the counting error of persons and vehicles per image.

    Args:
        detector, bodies: ready detectors for Veil's methods and for utility (tests); else the real ones.
    """
    options = options or EvalOptions()
    fmt = dataset_format or detect_format(Path(dataset))
    frames = group_by_image(load_annotations(Path(dataset), fmt))
    if options.limit:
        frames = frames[: options.limit]
    classes = {r.label for f in frames for r in f.records}
    annotated = {c: sum(len(r.boxes_xyxy) for f in frames for r in f.of_class(c)) for c in _ordered(classes)}
    references = {c: "annotations" if c in classes else "YOLOX on the originals" for c in UTILITY_CLASSES}
    report = EvalReport(str(dataset), fmt.value, len(frames), annotated, references)
    started = time.perf_counter()
    methods = _Methods(options, detector)
    attacks = _Attacks(options, classes, bodies)
    results = {m: MethodResult(m, {c: PrivacyCount() for c in annotated}) for m in options.methods}
    ap_inputs: dict[EvalMethod, dict[ObjectClass, list[ImageDetections]]] = {
        m: {c: [] for c in UTILITY_CLASSES} for m in options.methods
    }
    ssim_values: dict[EvalMethod, list[float]] = {m: [] for m in options.methods}
    count_errors: dict[EvalMethod, dict[ObjectClass, list[int]]] = {
        m: {c: [] for c in UTILITY_CLASSES} for m in options.methods
    }
    progress = progress or NullProgress()
    progress.start(str(dataset), len(frames))
    for seed, frame in enumerate(frames):
        image = _load(frame)
        truth_text = _plate_texts(frame, image, attacks.reader)
        reference = _reference(frame, attacks.bodies.detect(image), classes)
        outside = _outside_regions(frame, image.shape[:2])
        methods.start_image(image)
        for method in options.methods:
            output = methods.run(method, image, seed)
            result = results[method]
            result.seconds += output.seconds
            result.megapixels += image.shape[0] * image.shape[1] / 1e6
            result.images += 1
            _privacy(frame, output, attacks, truth_text, result.privacy)
            found = attacks.bodies.detect(output.image)
            for label in UTILITY_CLASSES:
                mine = found.of_class(label)
                ap_inputs[method][label].append(
                    ImageDetections(reference[label], mine.boxes_xyxy, mine.scores)
                )
                counted = int(np.count_nonzero(mine.scores >= COUNT_MIN_SCORE))
                count_errors[method][label].append(abs(counted - len(reference[label])))
            similarity = masked_ssim(image, output.image, outside)
            if similarity is not None:
                ssim_values[method].append(similarity)
        progress.advance()
    for method, result in results.items():
        result.ap = {c: average_precision(ap_inputs[method][c]) for c in UTILITY_CLASSES}
        result.ssim_outside = float(np.mean(ssim_values[method])) if ssim_values[method] else None
        result.count_error = {c: float(np.mean(v)) for c, v in count_errors[method].items() if v}
        report.results.append(result)
    report.seconds = time.perf_counter() - started
    return report


def _ordered(classes: set[ObjectClass]) -> list[ObjectClass]:
    return [c for c in ObjectClass if c in classes]


def _load(frame: AnnotatedFrame) -> Image:
    image = load_rgb(frame.image_path)
    for record in frame.records:
        if record.size_wh is not None and (image.shape[1], image.shape[0]) != record.size_wh:
            raise UnsupportedFrameError(
                f"{frame.image_path} is {image.shape[1]}×{image.shape[0]} but its annotation says "
                f"{record.size_wh[0]}×{record.size_wh[1]}: the boxes would not line up"
            )
    return image


def _boxes(frame: AnnotatedFrame, label: ObjectClass) -> npt.NDArray[np.float32]:
    records = frame.of_class(label)
    if not records:
        return np.zeros((0, 4), np.float32)
    return np.concatenate([r.boxes for r in records]).reshape(-1, 4)


def _plate_texts(frame: AnnotatedFrame, image: Image, reader: PlateReader | None) -> list[str | None]:
    """Return, per plate or text box of ``frame``, the text a reading must match to give it away."""
    texts: list[str | None] = []
    for record in frame.records:
        if record.label not in (ObjectClass.LICENSE_PLATE, ObjectClass.TEXT):
            continue
        for box, text in zip(record.boxes_xyxy, record.texts, strict=True):
            if (text is None or not normalize_plate(text)) and reader is not None:
                # No transcription: what the original reads is what must not be readable.
                text = max(reader.readings(image, box), key=lambda r: r.score).text
            texts.append(text if text and normalize_plate(text) else None)
    return texts


def _reference(
    frame: AnnotatedFrame, on_original: Detections, annotated: set[ObjectClass]
) -> dict[ObjectClass, npt.NDArray[np.float32]]:
    """Return the boxes utility is graded against: the set's own where it annotates the class."""
    out = {}
    for label in UTILITY_CLASSES:
        if label in annotated:
            out[label] = _boxes(frame, label)
        else:
            found = on_original.of_class(label)
            out[label] = found.boxes_xyxy[found.scores >= COUNT_MIN_SCORE]
    return out


def _outside_regions(frame: AnnotatedFrame, frame_hw: tuple[int, int]) -> Mask:
    """Return the pixels outside every annotated box grown by Veil's default margin."""
    height, width = frame_hw
    outside = np.ones((height, width), bool)
    policy = PipelineConfig().policy
    for record in frame.records:
        grown = clip_boxes(
            scale_boxes(record.boxes, policy.margin_ratio, policy.min_margin_px), width, height
        )
        for x1, y1, x2, y2 in np.round(grown).astype(int):
            outside[y1:y2, x1:x2] = False
    return outside


def _privacy(
    frame: AnnotatedFrame,
    output: _Output,
    attacks: _Attacks,
    texts: Sequence[str | None],
    counts: dict[ObjectClass, PrivacyCount],
) -> None:
    """Add, per annotated object, whether ``output`` hides it and the attack fails on it."""
    text_index = 0
    for record in frame.records:
        boxes = record.boxes
        found: list[bool] = [False] * len(boxes)
        if record.label is ObjectClass.FACE and attacks.faces is not None:
            found = attacks.faces.refound(output.image, boxes)
        elif record.label in (ObjectClass.LICENSE_PLATE, ObjectClass.TEXT) and attacks.reader is not None:
            found = []
            for box in boxes:
                truth = texts[text_index]
                text_index += 1
                reading = attacks.reader.best_reading(output.image, box, truth) if truth else None
                found.append(reading is not None and truth is not None and is_read(reading.text, truth))
        count = counts[record.label]
        for box, attacked in zip(boxes, found, strict=True):
            hidden = covered_fraction(output.hidden, box) >= MIN_COVERED
            count.annotated += 1
            count.hidden += hidden
            count.protected += hidden and not attacked
