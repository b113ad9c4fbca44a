"""One unit of batch work (a whole file or one segment of a video) and the worker that runs it.

A :class:`BatchWorker` loads the models once and runs many units: the local engine keeps one per
process, the Ray engine one per actor. A unit is done only once its output has been read back and
holds the frames it should at the times it should.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from veil.anonymizers.base import Anonymizer
from veil.batch.join import verify_video
from veil.batch.segments import Segment, VideoIndex, read_segment
from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import PrivacyError, VeilError
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.detections_json import FrameDetections, read_detections, write_detections
from veil.pipeline.frame_processor import FrameProcessor
from veil.pipeline.loop import Engine, run_stages
from veil.pipeline.runner import detections_path, run_file
from veil.pipeline.temporal import FrameRegions
from veil.types import Frame
from veil.video.output_plan import plan_output
from veil.video.probe import MediaKind, probe_media
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

__all__ = ["TIMED_SUFFIXES", "TIME_TOLERANCE_S", "BatchWorker", "Unit", "UnitResult"]

# Containers that store every frame's own time, so an output can be checked against the source's
# times; Matroska stores milliseconds, hence the tolerance.
TIMED_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm"})
TIME_TOLERANCE_S = Fraction(1, 1000)


@dataclass(frozen=True)
class Unit:
    """What one task does: a whole input into ``dst``, or one segment of it into a part file.

    For a segment, ``dst`` is the part video (unused with ``options.detect_only``) and ``json_path``
    the part's detections; ``index`` is the whole video's frame index.
    """

    input_id: int
    src: Path
    dst: Path
    options: RunOptions
    segment: Segment | None = None
    index: VideoIndex | None = None
    json_path: Path | None = None

    @property
    def number(self) -> int:
        """The segment's number, or -1 for a whole input."""
        return -1 if self.segment is None else self.segment.number


@dataclass(frozen=True)
class UnitResult:
    """How a unit went: the frames it wrote and detected, its time, and its error if it failed."""

    input_id: int
    number: int
    frames: int = 0
    frames_detected: int = 0
    elapsed_s: float = 0.0
    warnings: tuple[str, ...] = ()
    error: str | None = None


class _Given:
    """The engine of a run from a detections file: each frame with its listed regions, at once."""

    def __init__(self, given: dict[int, Detections], source: Path) -> None:
        self._given = given
        self._source = source

    def push(self, frame: Frame) -> list[FrameRegions]:
        try:
            regions = self._given[frame.index]
        except KeyError:
            raise PrivacyError(
                f"the detections file for {self._source.name} has no entry for frame {frame.index}"
            ) from None
        return [FrameRegions(frame, regions, detected=False)]

    def flush(self) -> list[FrameRegions]:
        return []


class BatchWorker:
    """Loaded models for one configuration, running units one after another.

    Detectors load on the first unit that needs them (a run from detections files needs none).
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

    def _processor(self, need_detector: bool) -> FrameProcessor:
        if need_detector and self._detector is None:
            from veil.detection.registry import build_detectors

            built = build_detectors(self.config.targets, self.config)
            self._detector, self._video_detector = built.stills, built.video
        return FrameProcessor(self.config, self._detector, self._anonymizer, self._video_detector)

    def run(self, unit: Unit) -> UnitResult:
        """Run ``unit`` and verify its output; a Veil error becomes the result's ``error``."""
        started = time.perf_counter()
        try:
            result = self._run_segment(unit) if unit.segment is not None else self._run_whole(unit)
        except VeilError as exc:
            return UnitResult(unit.input_id, unit.number, error=str(exc))
        return UnitResult(
            unit.input_id,
            unit.number,
            frames=result[0],
            frames_detected=result[1],
            elapsed_s=time.perf_counter() - started,
            warnings=result[2],
        )

    def _run_whole(self, unit: Unit) -> tuple[int, int, tuple[str, ...]]:
        need_detector = unit.options.from_detections is None
        report = run_file(
            self.config, lambda: self._processor(need_detector), unit.src, unit.dst, unit.options
        )
        if unit.options.detect_only:
            json_path = detections_path(unit.src, unit.dst, detect_only=True)
            listed = len(read_detections(json_path).frames)
            if listed != report.frames_read:
                raise PrivacyError(f"{json_path}: lists {listed} frames, {report.frames_read} were read")
        elif probe_media(unit.src) is MediaKind.VIDEO:
            _verify_whole(unit, report.frames_written)
        return report.frames_read, report.frames_detected, tuple(report.warnings)

    def _run_segment(self, unit: Unit) -> tuple[int, int, tuple[str, ...]]:
        assert unit.segment is not None and unit.index is not None
        segment, index, options = unit.segment, unit.index, unit.options
        config = self.config
        processor = self._processor(need_detector=options.from_detections is None)
        with VideoReader(unit.src, max_pixels=config.max_pixels) as reader:
            info = reader.info
        engine: Engine[Frame, FrameRegions]
        if options.from_detections is not None:
            engine = _Given(read_detections(options.from_detections).by_index(), unit.src)
        else:
            engine = processor.temporal_engine()
        entries: list[FrameDetections] = []
        detected = 0
        frames = read_segment(unit.src, index, segment, max_pixels=config.max_pixels)

        def written(item: FrameRegions) -> bool:
            nonlocal detected
            inside = segment.start <= item.frame.index < segment.end
            detected += int(inside and item.detected)
            return inside

        if options.detect_only:

            def record(item: FrameRegions) -> None:
                if written(item):
                    found = Detections.empty() if item.regions is None else item.regions
                    entries.append(_entry(item.frame, found))

            run_stages(frames, engine, record)
        else:
            plan = plan_output(
                unit.dst, unit.src, config.encoder, keep_audio=False, strip_location=config.strip_location
            )
            with VideoWriter(unit.dst, unit.src, info, config.encoder, keep_audio=False, plan=plan) as writer:

                def anonymize_and_write(item: FrameRegions) -> None:
                    if not written(item):
                        return  # context only: seen by the engine, written by the neighbouring segment
                    result = processor.anonymize(item)
                    if options.write_detections:
                        entries.append(_entry(item.frame, result.detections))
                    writer.write(item.frame, result.image)

                run_stages(frames, engine, anonymize_and_write, writer_thread="veil-writer")
                if writer.frames_written != segment.frames:
                    raise PrivacyError(
                        f"{unit.src.name} segment {segment.number}: wrote {writer.frames_written} of "
                        f"{segment.frames} frames; discarded"
                    )
                writer.commit()
            verify_video(unit.dst, index.times(segment.start, segment.end), tolerance_s=TIME_TOLERANCE_S)
        if unit.json_path is not None:
            if len(entries) != segment.frames:
                raise PrivacyError(
                    f"{unit.src.name} segment {segment.number}: "
                    f"{len(entries)} of {segment.frames} frames listed"
                )
            write_detections(unit.json_path, unit.src.name, info.width, info.height, entries)
        return segment.frames, detected, ()


def _entry(frame: Frame, found: Detections) -> FrameDetections:
    return FrameDetections(frame.index, frame.pts, frame.time_s, found)


def _verify_whole(unit: Unit, frames_written: int) -> None:
    """Check a whole video's output: the source's times where the container keeps them, else the count."""
    from veil.batch.segments import index_video

    index = index_video(unit.src) if unit.dst.suffix.lower() in TIMED_SUFFIXES else None
    if index is not None and index.frame_count == frames_written:
        verify_video(unit.dst, index.times(), tolerance_s=TIME_TOLERANCE_S)
        return
    verify_video(unit.dst, frames_written, tolerance_s=TIME_TOLERANCE_S)
