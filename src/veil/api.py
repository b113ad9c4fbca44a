"""The front door: every public verb and the configuration types a caller builds.

The verbs: anonymize an image array, a file, a folder or frames one by one (:func:`open_pipeline`,
:func:`anonymize_image`, :func:`anonymize_path`, :func:`anonymize_video`), :func:`detect`,
:func:`stream` a live source, :func:`remove` persons and vehicles, :func:`audit` anonymized media and
:func:`evaluate` methods on a data set. The CLI, the service and the edge client call only this module
(and the core types and errors); the code behind removal and the evaluation verbs is imported when
the verb runs.

Example::

    import veil
    from veil.api import PipelineConfig
    from veil.types import ObjectClass

    config = PipelineConfig(targets=frozenset({ObjectClass.FACE}))
    with veil.open_pipeline(config) as pipeline:     # models load once here
        for frame in frames:                         # H×W×3 uint8 RGB arrays
            safe = pipeline.process(frame)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from veil.anonymizers.base import Anonymizer
from veil.anonymizers.method import Method
from veil.detection.base import Detector
from veil.detection.settings import DetectionConfig, Device
from veil.detections import Detections
from veil.errors import UnreadableMediaError
from veil.evaluation.annotations import DatasetFormat
from veil.evaluation.audit_options import AUDITED_CLASSES, LEAK_CLASSES, AuditOptions
from veil.evaluation.audit_report import AuditReport
from veil.evaluation.eval_options import COMPARED_METHODS, EvalMethod, EvalOptions
from veil.evaluation.eval_report import EvalReport
from veil.live import LiveReport, LiveSettings, run_stream
from veil.models.catalog import CATALOG, ModelSpec
from veil.models.store import ModelStatus, fetch_models, verify_models
from veil.pipeline.batch import run_tree
from veil.pipeline.choices import UserChoices, parse_methods, parse_targets, parse_thresholds
from veil.pipeline.config import DEFAULT_TARGETS, FailMode, PipelineConfig, PrivacyPolicy, RunOptions
from veil.pipeline.frame_processor import FrameProcessor
from veil.pipeline.loop import stage_outputs
from veil.pipeline.preview import ContactSheet
from veil.pipeline.privacy_level import PrivacyLevel, PrivacyPreset, preset_for
from veil.pipeline.report import RunReport
from veil.pipeline.runner import Progress, run_file
from veil.propagation.settings import TemporalConfig
from veil.removal import REMOVABLE_CLASSES, RemovalReport, RemovalSettings
from veil.types import Frame, Image
from veil.video.atomic import write_text_atomically
from veil.video.settings import EncoderConfig, OutputSettings

__all__ = [
    "AUDITED_CLASSES",
    "COMPARED_METHODS",
    "DEFAULT_TARGETS",
    "LEAK_CLASSES",
    "REMOVABLE_CLASSES",
    "AuditOptions",
    "AuditReport",
    "DatasetFormat",
    "DetectionConfig",
    "Device",
    "EncoderConfig",
    "EvalMethod",
    "EvalOptions",
    "EvalReport",
    "FailMode",
    "JsonReport",
    "LiveReport",
    "LiveSettings",
    "Method",
    "ModelSpec",
    "ModelStatus",
    "OutputSettings",
    "Pipeline",
    "PipelineConfig",
    "PrivacyLevel",
    "PrivacyPolicy",
    "PrivacyPreset",
    "Progress",
    "RemovalReport",
    "RemovalSettings",
    "RunOptions",
    "RunReport",
    "TemporalConfig",
    "UserChoices",
    "anonymize_image",
    "anonymize_path",
    "anonymize_video",
    "audit",
    "detect",
    "evaluate",
    "fetch_models",
    "list_models",
    "open_pipeline",
    "parse_methods",
    "parse_targets",
    "parse_thresholds",
    "preset_for",
    "remove",
    "save_report",
    "stream",
    "verify_models",
]


class Pipeline:
    """Loaded detectors and anonymizers for one configuration; reuse it for many frames and files.

    Detectors are built on first use, so a run from a detections file needs no model at all.
    """

    def __init__(
        self,
        config: PipelineConfig,
        *,
        detector: Detector | None = None,
        anonymizer: Anonymizer | None = None,
    ) -> None:
        from veil.anonymizers.registry import build_anonymizer

        self.config = config
        self._detector = detector
        self._video_detector = detector
        self._anonymizer = anonymizer or build_anonymizer(config)
        self._processor: FrameProcessor | None = None

    def _frame_processor(self, need_detector: bool = True) -> FrameProcessor:
        if need_detector and self._detector is None:
            from veil.detection.registry import build_detectors

            built = build_detectors(self.config.targets, self.config)
            self._detector, self._video_detector = built.stills, built.video
            self._processor = None
        if self._processor is None:
            self._processor = FrameProcessor(
                self.config, self._detector, self._anonymizer, self._video_detector
            )
        return self._processor

    def detect(self, image: Image) -> Detections:
        """Return the target regions in ``image`` (H×W×3 uint8 RGB), before margins."""
        return self._frame_processor().detect(image)

    def process(self, image: Image, regions: Detections | None = None) -> Image:
        """Return an anonymized copy of ``image``; ``regions`` replace detection when given."""
        return self._frame_processor(need_detector=regions is None).process(image, 0, regions).image

    def anonymize_frames(self, images: Iterable[Image]) -> Iterator[Image]:
        """Yield anonymized copies of ``images``, consecutive frames of one video, in order.

        Unlike :meth:`process`, frames are treated as video: the detector runs on some of them and the
        regions are carried to the others by optical flow, held through detector misses
        (``config.temporal``). Each frame comes out once ``config.temporal.lookahead_frames`` later
        frames went in; with 0 (live input) each comes out at once.
        """
        processor = self._frame_processor()
        frames = (Frame(image=image, index=index) for index, image in enumerate(images))
        for item in stage_outputs(frames, processor.temporal_engine()):
            yield processor.anonymize(item).image

    def anonymize_file(
        self,
        src: Path,
        dst: Path,
        options: RunOptions | None = None,
        progress: Progress | None = None,
        sheet: ContactSheet | None = None,
    ) -> RunReport:
        """Anonymize one image or video file into ``dst``."""
        options = options or RunOptions()
        need_detector = options.from_detections is None
        return run_file(
            self.config,
            lambda: self._frame_processor(need_detector),
            Path(src),
            Path(dst),
            options,
            progress,
            sheet,
        )

    def anonymize_path(
        self, src: Path, dst: Path, options: RunOptions | None = None, progress: Progress | None = None
    ) -> RunReport:
        """Anonymize a file, or every media file under a folder into a mirrored folder."""
        src, dst = Path(src), Path(dst)
        options = options or RunOptions()
        if not src.exists():
            raise UnreadableMediaError(f"{src} does not exist")
        if src.is_dir():
            return run_tree(
                src, dst, options, lambda s, d, o, sheet: self.anonymize_file(s, d, o, progress, sheet)
            )
        return self.anonymize_file(src, dst, options, progress)

    def stream(
        self,
        source: str,
        destination: str,
        settings: LiveSettings | None = None,
        *,
        stop: threading.Event | None = None,
    ) -> LiveReport:
        """Anonymize a live source (camera, rtsp/udp/tcp/http URL, file) into a file or network stream.

        Forward-only (no lookahead) within ``settings.latency_budget_ms``; runs until the source ends,
        ``settings.max_frames`` are read or ``stop`` is set. See :func:`veil.live.run_stream`.

        >>> pipeline.stream("rtsp://camera/stream", "udp://127.0.0.1:5000?pkt_size=1316")  # doctest: +SKIP
        """
        return run_stream(self._frame_processor, source, destination, settings or LiveSettings(), stop=stop)

    def close(self) -> None:
        """Release the models."""
        self._detector = None
        self._video_detector = None
        self._processor = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_pipeline(
    config: PipelineConfig | None = None,
    *,
    detector: Detector | None = None,
    anonymizer: Anonymizer | None = None,
) -> Pipeline:
    """Return a :class:`Pipeline` for ``config``; use it as a context manager.

    >>> with open_pipeline() as p:  # doctest: +SKIP
    ...     safe = p.process(frame)
    """
    return Pipeline(config or PipelineConfig(), detector=detector, anonymizer=anonymizer)


def anonymize_image(image: Image, config: PipelineConfig | None = None) -> Image:
    """Return an anonymized copy of one RGB image (loads models each call: use open_pipeline for many).

    >>> safe = anonymize_image(photo)  # doctest: +SKIP
    """
    with open_pipeline(config) as pipeline:
        return pipeline.process(image)


def anonymize_video(
    src: Path | str, dst: Path | str, config: PipelineConfig | None = None, options: RunOptions | None = None
) -> RunReport:
    """Anonymize the video (or image) file ``src`` into ``dst`` and return the run report.

    >>> report = anonymize_video("street.mp4", "street.anon.mp4")  # doctest: +SKIP
    """
    with open_pipeline(config) as pipeline:
        return pipeline.anonymize_file(Path(src), Path(dst), options)


def anonymize_path(
    src: Path | str,
    dst: Path | str,
    config: PipelineConfig | None = None,
    options: RunOptions | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Anonymize a file or a folder tree; returns the merged run report."""
    with open_pipeline(config) as pipeline:
        return pipeline.anonymize_path(Path(src), Path(dst), options, progress)


def list_models() -> list[ModelSpec]:
    """Return every model Veil can use, with its source, licence and checksum."""
    return list(CATALOG.values())


class JsonReport(Protocol):
    """A run's report that can be written as JSON: :class:`RunReport`, :class:`LiveReport`, a removal's."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values."""
        ...


def save_report(report: JsonReport, path: Path) -> None:
    """Write ``report`` as JSON to ``path``, whole or not at all.

    Raises:
        OutputError: ``path``'s folder is missing or unwritable.
    """
    import json

    write_text_atomically(path, json.dumps(report.to_dict()) + "\n")


def detect(image: Image, config: PipelineConfig | None = None) -> Detections:
    """Return the target regions of one RGB image, before margins (loads models each call).

    >>> found = detect(photo)  # doctest: +SKIP
    """
    with open_pipeline(config) as pipeline:
        return pipeline.detect(image)


def stream(
    source: str,
    destination: str,
    config: PipelineConfig | None = None,
    settings: LiveSettings | None = None,
    *,
    stop: threading.Event | None = None,
) -> LiveReport:
    """Anonymize a live source into a file or network stream; see :meth:`Pipeline.stream`.

    >>> report = stream("rtsp://camera/stream", "out.mp4")  # doctest: +SKIP
    """
    with open_pipeline(config) as pipeline:
        return pipeline.stream(source, destination, settings, stop=stop)


def remove(
    src: Path | str,
    dst: Path | str,
    settings: RemovalSettings | None = None,
    *,
    still_object: bool = False,
    detector: Detector | None = None,
) -> RemovalReport:
    """Remove persons and vehicles from video ``src`` into ``dst``, filled with the background.

    ``still_object``: the object stays put (a parked car), named by ``settings.box_xyxy`` or
    ``settings.track_id``; otherwise everything moving, one track, or what lies in the box.

    >>> report = remove("street.mp4", "street.clean.mp4")  # doctest: +SKIP
    """
    from veil.removal import remove_dynamic_object, remove_static_object

    if still_object:
        return remove_static_object(src, dst, settings or RemovalSettings(), detector=detector)
    return remove_dynamic_object(src, dst, settings, detector=detector)


def audit(
    anonymized: Path | str,
    original: Path | str,
    options: AuditOptions | None = None,
    progress: Progress | None = None,
    *,
    truth: Path | None = None,
    truth_format: DatasetFormat | None = None,
) -> AuditReport:
    """Attack ``anonymized`` media where ``original`` shows identifying content; report what leaks.

    >>> report = audit("street.anon.mp4", "street.mp4")  # doctest: +SKIP
    """
    from veil.evaluation.audit import audit_paths

    return audit_paths(
        Path(anonymized), Path(original), options, progress, truth=truth, truth_format=truth_format
    )


def evaluate(
    dataset: Path | str,
    options: EvalOptions | None = None,
    progress: Progress | None = None,
    *,
    dataset_format: DatasetFormat | None = None,
) -> EvalReport:
    """Measure anonymization methods' privacy, utility and speed on an annotated data set.

    >>> report = evaluate("data/wider_face_val")  # doctest: +SKIP
    """
    from veil.evaluation.evaluate import evaluate_dataset

    return evaluate_dataset(Path(dataset), options, progress, dataset_format=dataset_format)
