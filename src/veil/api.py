"""The public verbs: anonymize an image array, a file, a folder, or frames one by one.

Example::

    import veil
    from veil.pipeline.config import PipelineConfig
    from veil.types import ObjectClass

    config = PipelineConfig(targets=frozenset({ObjectClass.FACE}))
    with veil.open_pipeline(config) as pipeline:     # models load once here
        for frame in frames:                         # H×W×3 uint8 RGB arrays
            safe = pipeline.process(frame)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from veil.anonymizers.base import Anonymizer
from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import ConfigError, MissingExtraError, UnreadableMediaError
from veil.live import LiveReport, LiveSettings, run_stream
from veil.models.catalog import CATALOG, ModelSpec
from veil.models.store import ModelStatus, fetch_models, verify_models
from veil.obfuscation.config import TrainConfig, UtilityLoss
from veil.pipeline.batch import run_tree
from veil.pipeline.choices import UserChoices, parse_methods, parse_targets, parse_thresholds
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.frame_processor import FrameProcessor
from veil.pipeline.preview import ContactSheet
from veil.pipeline.privacy_level import PrivacyLevel, PrivacyPreset, preset_for
from veil.pipeline.report import RunReport
from veil.pipeline.runner import Progress, run_file
from veil.pipeline.temporal import FrameRegions
from veil.types import Frame, Image
from veil.video.atomic import write_text_atomically

__all__ = [
    "JsonReport",
    "LiveReport",
    "LiveSettings",
    "ModelSpec",
    "ModelStatus",
    "Pipeline",
    "PrivacyLevel",
    "PrivacyPreset",
    "RunReport",
    "TrainConfig",
    "UserChoices",
    "UtilityLoss",
    "anonymize_image",
    "anonymize_path",
    "anonymize_video",
    "fetch_models",
    "list_models",
    "open_pipeline",
    "parse_methods",
    "parse_targets",
    "parse_thresholds",
    "preset_for",
    "save_report",
    "train_obfuscator",
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
        self._keyframe_detector = detector
        self._anonymizer = anonymizer or build_anonymizer(config)
        self._processor: FrameProcessor | None = None

    def _frame_processor(self, need_detector: bool = True) -> FrameProcessor:
        if self.config.obfuscator is not None:
            return self._whole_frame_processor(self.config.obfuscator)
        if need_detector and self._detector is None:
            from veil.detection.registry import build_detectors

            built = build_detectors(self.config.targets, self.config)
            self._detector, self._keyframe_detector = built.stills, built.keyframes
            self._processor = None
        if self._processor is None:
            self._processor = FrameProcessor(
                self.config, self._detector, self._anonymizer, self._keyframe_detector
            )
        return self._processor

    def _whole_frame_processor(self, model: Path) -> FrameProcessor:
        if self._processor is None:
            from veil.obfuscation.apply import ObfuscatorModel

            obfuscator = ObfuscatorModel(model, self.config.detection)
            self._processor = FrameProcessor(self.config, None, self._anonymizer, whole_frame=obfuscator)
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
        if processor.whole_frame is not None:
            for index, image in enumerate(images):
                yield processor.process(image, index).image
            return
        engine = processor.temporal_engine()

        def anonymized(ready: list[FrameRegions]) -> Iterator[Image]:
            for item in ready:
                if item.regions is None:
                    yield processor.hide_whole(item.frame.image).image
                else:
                    yield processor.process(item.frame.image, item.frame.index, item.regions).image

        for index, image in enumerate(images):
            yield from anonymized(engine.push(Frame(image=image, index=index)))
        yield from anonymized(engine.flush())

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
        if self.config.obfuscator is not None and (options.detect_only or options.from_detections):
            raise ConfigError("the obfuscator transforms whole frames: it has no detections to write or read")
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
        self._keyframe_detector = None
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


def train_obfuscator(
    inputs: Iterable[Path],
    output: Path,
    config: TrainConfig | None = None,
    *,
    work_dir: Path | None = None,
    restart: bool = False,
    per_video: int = 32,
    share: float = 0.7,
    device: str = "auto",
    threads: int = 0,
    models_dir: Path | None = None,
    on_step: Callable[[Any], None] | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train a whole-frame obfuscator on the frames of ``inputs`` and write it to ``output`` (ONNX).

    Image files are used whole; of each video, ``per_video`` frames spread over its first ``share``
    (the rest stays unseen, for evaluation). The checkpoint, a CSV/JSON log and a loss plot go to
    ``work_dir`` (default: ``OUTPUT.train`` beside the output); a run finds its checkpoint there and
    resumes, unless ``restart``. Needs the ``train`` extra (PyTorch).

    >>> veil.train_obfuscator([Path("clip.mp4")], Path("obfuscator.onnx"))  # doctest: +SKIP

    Raises:
        MissingExtraError: PyTorch is not installed.
        ConfigError: no frames in ``inputs``, or a checkpoint from other settings.
    """
    try:
        from veil.obfuscation.training import train_obfuscator as train
    except ImportError as exc:
        raise MissingExtraError(
            f"training an obfuscator needs PyTorch ({exc.name} is missing): pip install 'veil[train]'",
            extra="train",
        ) from None
    from veil.models.store import resolve_model

    if not 0.0 < share <= 1.0:
        raise ConfigError(f"share={share} is out of range (0, 1]")
    if per_video < 1:
        raise ConfigError(f"per_video={per_video} must be at least 1")
    work = work_dir or output.with_name(output.name + ".train")
    if restart and work.exists():
        for name in ("checkpoint.pt", "log.csv", "log.json", "losses.png"):
            (work / name).unlink(missing_ok=True)
    return train(
        list(inputs),
        output,
        lambda: resolve_model("yolox_nano", models_dir),
        config or TrainConfig(),
        work_dir=work,
        per_video=per_video,
        share=share,
        device=device,
        threads=threads,
        on_step=on_step,
        stop_after=stop_after,
    )


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
