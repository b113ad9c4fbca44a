"""The pipeline handle: models loaded once, then images, files, folders, frames and live streams."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

from veil.anonymizers.base import Anonymizer
from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import ConfigError, UnreadableMediaError
from veil.live import LiveReport, LiveSettings, run_stream
from veil.pipeline.batch import run_tree
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.frame_processor import FrameProcessor, WholeFrameEngine
from veil.pipeline.loop import stage_outputs
from veil.pipeline.preview import ContactSheet
from veil.pipeline.report import RunReport
from veil.pipeline.runner import Progress, run_file
from veil.types import Frame, Image

__all__ = [
    "Pipeline",
    "anonymize_image",
    "anonymize_path",
    "anonymize_video",
    "detect",
    "open_pipeline",
    "stream",
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
        if self.config.obfuscator is not None:
            return self._whole_frame_processor(self.config.obfuscator)
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
        frames = (Frame(image=image, index=index) for index, image in enumerate(images))
        whole = processor.whole_frame is not None
        engine = WholeFrameEngine(processor) if whole else processor.temporal_engine()
        for item in stage_outputs(frames, engine):
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
