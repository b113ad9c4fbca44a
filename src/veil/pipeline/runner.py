"""Run the frame processor over image and video files: reading, writing, JSON, preview, report."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from veil.detections import Detections
from veil.errors import OutputError, PrivacyError
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.detections_json import (
    DetectionsFile,
    FrameDetections,
    read_detections,
    write_detections,
)
from veil.pipeline.frame_processor import FrameProcessor, WholeFrameEngine
from veil.pipeline.loop import Engine, run_stages
from veil.pipeline.preview import ContactSheet
from veil.pipeline.report import RunReport
from veil.pipeline.reviewed import ReviewedRegions, listed_regions, regions_of_frame
from veil.pipeline.stages import BackgroundIterator
from veil.pipeline.temporal import FrameRegions, ScheduledFrame, TemporalEngine
from veil.types import Frame
from veil.video.atomic import check_output
from veil.video.image_io import load_image, save_image
from veil.video.output_plan import OutputPlan, plan_output
from veil.video.probe import MediaKind, probe_media
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

__all__ = ["NullProgress", "Progress", "detections_path", "run_file"]

_log = logging.getLogger(__name__)

_MIN_DETECT_AHEAD = 4


class Progress(Protocol):
    """Receives progress of one input: ``start`` once, then ``advance`` per frame."""

    def start(self, label: str, total: int | None) -> None:
        """Begin an input of ``total`` frames (None: unknown)."""

    def advance(self, frames: int = 1) -> None:
        """Count ``frames`` more frames done."""


class NullProgress:
    """Progress that reports nowhere."""

    def start(self, label: str, total: int | None) -> None:
        """Ignore the start."""

    def advance(self, frames: int = 1) -> None:
        """Ignore the advance."""


def detections_path(src: Path, dst: Path, *, detect_only: bool = False) -> Path:
    """Return where the detections JSON of ``src`` goes.

    Beside an anonymized output it is ``STEM.detections.json`` (the input's stem) in dst's folder.
    With ``detect_only`` there is no output: ``dst`` names the JSON itself when it ends in ``.json``,
    else the JSON is ``NAME.detections.json`` beside it.
    """
    if not detect_only:
        return dst.parent / f"{src.stem}.detections.json"
    return dst if dst.suffix.lower() == ".json" else dst.with_name(f"{dst.stem}.detections.json")


def run_file(
    config: PipelineConfig,
    make_processor: Callable[[], FrameProcessor],
    src: Path,
    dst: Path,
    options: RunOptions,
    progress: Progress | None = None,
    sheet: ContactSheet | None = None,
) -> RunReport:
    """Anonymize one image or video file ``src`` into ``dst`` and return what was done.

    ``make_processor`` (which builds a processor for ``config``) is called once the input, the output
    path and what the output can hold have been checked.

    With ``options.preview`` set, the before/after sheet is saved there, unless a shared ``sheet`` is
    given (a folder run): then the input's first frame is added to it and the caller saves it.
    """
    progress = progress or NullProgress()
    _refuse_same_path(src, dst)
    # Paths are checked before anything is decoded or loaded: a typo fails in milliseconds.
    check_output(detections_path(src, dst, detect_only=True) if options.detect_only else dst, src)
    if not options.overwrite and dst.exists() and not options.detect_only:
        raise OutputError(f"{dst} exists; pass overwrite to replace it")
    given = read_detections(options.from_detections) if options.from_detections is not None else None
    report = RunReport(inputs=1)
    started = time.perf_counter()
    is_image = probe_media(src) is MediaKind.IMAGE
    plan = None if is_image or options.detect_only else _plan(src, dst, config)
    # Inputs are checked before models load: a bad file fails in milliseconds, not after model loading.
    processor = make_processor()
    own_sheet = sheet is None and options.preview is not None and not options.detect_only
    if own_sheet:
        sheet = (
            ContactSheet(max_pairs=1) if is_image else ContactSheet(frame_count=_frame_count(src, processor))
        )
    if is_image:
        _run_image(processor, src, dst, options, given, report, progress, sheet, own_sheet)
    else:
        _run_video(processor, src, dst, options, given, report, progress, sheet, own_sheet, plan)
    if own_sheet and sheet is not None and options.preview is not None:
        sheet.save(options.preview)
    report.elapsed_s = time.perf_counter() - started
    return report


def _plan(src: Path, dst: Path, config: PipelineConfig) -> OutputPlan:
    """Decide the output's codec and streams before anything is decoded; warn of what changes."""
    plan = plan_output(
        dst, src, config.encoder, keep_audio=config.keep_audio, strip_location=config.strip_location
    )
    for note in plan.notes:
        _log.warning("%s: %s", dst.name, note)
    return plan


def _frame_count(src: Path, processor: FrameProcessor) -> int | None:
    with VideoReader(src, max_pixels=processor.config.max_pixels) as reader:
        return reader.info.frame_count


def _refuse_same_path(src: Path, dst: Path) -> None:
    if dst.exists() and src.resolve() == dst.resolve():
        raise OutputError(f"output {dst} is the input itself: refusing to overwrite the original")


def _run_image(
    processor: FrameProcessor,
    src: Path,
    dst: Path,
    options: RunOptions,
    given_file: DetectionsFile | None,
    report: RunReport,
    progress: Progress,
    sheet: ContactSheet | None,
    sample_every_frame: bool,
) -> None:
    loaded = load_image(src, max_pixels=processor.config.max_pixels)
    image = loaded.image
    height, width = image.shape[:2]
    progress.start(src.name, 1)
    report.frames_read += 1
    given = listed_regions(given_file, width, height, src) if given_file is not None else None
    if options.detect_only:
        found = processor.detect(image)
        report.frames_detected += 1
        report.count_regions(found)
        _write_json(
            detections_path(src, dst, detect_only=True),
            src,
            width,
            height,
            [FrameDetections(0, None, None, found)],
        )
        progress.advance()
        return
    result = processor.process(image, 0, None if given is None else regions_of_frame(given, 0, src))
    detected = given is None and processor.whole_frame is None and not result.hidden_whole
    report.frames_detected += int(detected)
    report.count_anonymized(result)
    save_image(dst, result.image, loaded, strip_location=processor.config.strip_location)
    report.frames_written += 1
    if options.write_detections:
        _write_json(
            detections_path(src, dst), src, width, height, [FrameDetections(0, None, None, result.detections)]
        )
    if sheet is not None:
        sheet.add(image, result.image)
    progress.advance()


def _write_json(path: Path, src: Path, width: int, height: int, frames: list[FrameDetections]) -> None:
    write_detections(path, src.name, width, height, frames)


def _run_video(
    processor: FrameProcessor,
    src: Path,
    dst: Path,
    options: RunOptions,
    given_file: DetectionsFile | None,
    report: RunReport,
    progress: Progress,
    sheet: ContactSheet | None,
    sample_every_frame: bool,
    plan: OutputPlan | None,
) -> None:
    """Anonymize a video; ``sample_every_frame`` offers frames on the sheet's grid, else only frame 0."""
    config: PipelineConfig = processor.config
    with VideoReader(src, max_pixels=config.max_pixels, accept_truncated=options.accept_truncated) as reader:
        info = reader.info
        given = listed_regions(given_file, info.width, info.height, src) if given_file is not None else None
        progress.start(src.name, info.frame_count)
        frames_json: list[FrameDetections] = []
        # Frames nothing was detected on: from a detections file, or a whole-frame method.
        reviewed = given is not None or processor.whole_frame is not None
        with contextlib.ExitStack() as threads:
            # Stopped on every way out, detector before reader, before the files close: a thread
            # still inside a model or a decoder at interpreter exit aborts the process.
            frames = BackgroundIterator(reader)
            threads.callback(frames.close)
            source, engine = _video_stages(_counted(frames, report), processor, given, src, threads)
            if options.detect_only:

                def record(item: FrameRegions) -> None:
                    report.count_schedule(item, reviewed=reviewed)
                    found = Detections.empty() if item.regions is None else item.regions
                    report.count_regions(found)
                    frames_json.append(_json_entry(item.frame, found))
                    progress.advance()

                run_stages(source, engine, record)
                _write_json(
                    detections_path(src, dst, detect_only=True), src, info.width, info.height, frames_json
                )
                _note_damage(report, src, reader.damage)
                return
            with VideoWriter(
                dst,
                src,
                info,
                config.encoder,
                keep_audio=config.keep_audio,
                strip_location=config.strip_location,
                plan=plan,
            ) as writer:
                # Anonymizing happens on the writer's thread: the processing thread then only carries
                # regions by optical flow, and the two halves overlap on the two cores.
                def anonymize_and_write(item: FrameRegions) -> None:
                    report.count_schedule(item, reviewed=reviewed)
                    frame = item.frame
                    result = processor.anonymize(item)
                    report.count_anonymized(result)
                    if options.write_detections:
                        frames_json.append(_json_entry(frame, result.detections))
                    if sheet is not None and (sample_every_frame or frame.index == 0):
                        sheet.offer(frame.index, frame.image, result.image)
                    writer.write(frame, result.image)
                    report.frames_written += 1
                    progress.advance()

                run_stages(source, engine, anonymize_and_write, writer_thread="veil-writer")
                _verify_complete(report, src)
                writer.commit()
            _note_damage(report, src, reader.damage)
    if options.write_detections:
        _write_json(detections_path(src, dst), src, info.width, info.height, frames_json)


def _note_damage(report: RunReport, src: Path, damage: str | None) -> None:
    """Record in the report that ``src`` was damaged and only its decodable frames were used."""
    if damage is not None:
        report.warnings.append(f"{src.name}: {damage}; only the frames that decoded were used")


def _counted(frames: Iterable[Frame], report: RunReport) -> Iterator[Frame]:
    for frame in frames:
        report.frames_read += 1
        yield frame


class _AfterSchedule:
    """The temporal engine's propagating half, for frames its detection half scheduled on another thread."""

    def __init__(self, engine: TemporalEngine) -> None:
        self._engine = engine

    def push(self, item: ScheduledFrame) -> list[FrameRegions]:
        return self._engine.push_scheduled(item)

    def flush(self) -> list[FrameRegions]:
        return self._engine.flush()


def _video_stages(
    frames: Iterable[Frame],
    processor: FrameProcessor,
    given: dict[int, Detections] | None,
    src: Path,
    threads: contextlib.ExitStack,
) -> tuple[Iterable[Any], Engine[Any, FrameRegions]]:
    """Return the source and engine of a video: the reviewed regions, or detection and propagation.

    Detection runs on its own thread, up to one detection interval ahead of propagation: its bursts on
    detection frames then overlap the flow, anonymization and encoding of the frames before them. That
    thread is stopped by ``threads``, before the reader's.
    """
    if given is not None:
        return frames, ReviewedRegions(given, src)
    if processor.whole_frame is not None:
        return frames, WholeFrameEngine(processor)
    engine = processor.temporal_engine()
    ahead = max(_MIN_DETECT_AHEAD, engine.settings.detect_every)
    scheduled = BackgroundIterator(map(engine.detection.observe, frames), depth=ahead, name="veil-detector")
    threads.callback(scheduled.close)
    return scheduled, _AfterSchedule(engine)


def _json_entry(frame: Frame, found: Detections) -> FrameDetections:
    return FrameDetections(frame.index, frame.pts, frame.time_s, found)


def _verify_complete(report: RunReport, src: Path) -> None:
    """Refuse to publish an output unless every frame read was anonymized and written."""
    if report.frames_read == 0:
        raise PrivacyError(f"{src.name}: no frame could be decoded; nothing written")
    if not report.frames_read == report.frames_anonymized == report.frames_written:
        raise PrivacyError(
            f"{src.name}: read {report.frames_read}, anonymized {report.frames_anonymized}, "
            f"written {report.frames_written} frames; output discarded"
        )
