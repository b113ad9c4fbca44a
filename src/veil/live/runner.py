"""Anonymize a live source forward-only within a latency budget: read → drop stale → anonymize → send."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from veil.live.endpoints import SourceKind, parse_destination, parse_source
from veil.live.mailbox import CostEstimate, FrameMailbox
from veil.live.report import LiveReport
from veil.live.settings import LiveSettings
from veil.live.sink import LiveSink
from veil.live.source import LiveSource
from veil.pipeline.frame_processor import FrameProcessor, ProcessedFrame
from veil.pipeline.stages import BackgroundSink
from veil.pipeline.temporal import FrameRegions
from veil.types import Image
from veil.video.atomic import check_output

__all__ = ["run_stream"]

_log = logging.getLogger(__name__)

_WRITER_DEPTH = 4  # pictures waiting for the encoder; the latency budget keeps it near empty
_READER_JOIN_S = 60.0  # a reader blocked in a network read returns within the read timeout


@dataclass(frozen=True, slots=True)
class _Picture:
    """An anonymized picture on its way out; ``arrival_s`` is None for a repeat in a dropped frame's place."""

    image: Image
    pts: int
    time_base: Fraction
    arrival_s: float | None
    taken_s: float


def run_stream(
    make_processor: Callable[[], FrameProcessor],
    source: str,
    destination: str,
    settings: LiveSettings,
    *,
    stop: threading.Event | None = None,
) -> LiveReport:
    """Anonymize the live ``source`` into ``destination`` until the source ends or ``stop`` is set.

    ``make_processor`` is called once the source and destination strings have been checked, before the
    source is opened (models load before a listening socket accepts its sender).

    Every written frame went through the anonymizer (or was hidden whole under ``FailMode.HIDE_FRAME``);
    frames that would leave later than the latency budget are dropped before anonymization and never
    written raw. A file destination is published when the run ends normally (including Ctrl-C) and
    deleted when it fails.

    Raises:
        UnreadableMediaError: the source cannot be opened or is lost (the message names its URL).
        OutputError: the destination cannot be written.
        PrivacyError: a detector or anonymizer failed under ``FailMode.ABORT``.
    """
    src = parse_source(source, settings.input_options)
    dst = parse_destination(destination)
    if dst.path is not None:
        check_output(dst.path, Path(src.url) if src.kind is SourceKind.FILE else dst.path.with_name(".veil"))
    processor = make_processor()
    if processor.config.temporal.lookahead_frames:
        _log.info(
            "live input is forward-only: a lookahead of %d frames is not used",
            processor.config.temporal.lookahead_frames,
        )
    stop = stop or threading.Event()
    report = LiveReport(source=src.label, destination=dst.label)
    started = time.perf_counter()
    cost = CostEstimate()
    mailbox = FrameMailbox(settings.queue_frames, settings.latency_budget_s, cost)
    with LiveSource(src, settings, max_pixels=processor.config.max_pixels) as live:
        sink = LiveSink(dst, processor.config.encoder, live.frame_rate)
        reader = threading.Thread(
            target=_read_into, args=(live, mailbox, stop, report), name="veil-live-reader", daemon=True
        )
        reader.start()
        committed = False
        try:
            report.ended_by = _anonymize_stream(processor, mailbox, sink, cost, settings, report)
            committed = True
        finally:
            report.frames_dropped += mailbox.close()
            reader.join(timeout=_READER_JOIN_S)
            sink.close(commit=committed)
        report.reconnects = live.reconnects
    if stop.is_set() and report.ended_by == "end of stream":
        report.ended_by = "stopped"
    report.elapsed_s = time.perf_counter() - started
    return report


def _read_into(live: LiveSource, mailbox: FrameMailbox, stop: threading.Event, report: LiveReport) -> None:
    try:
        for captured in live.frames(lambda: mailbox.closed or stop.is_set()):
            report.frames_read += 1
            mailbox.put(captured)
    except BaseException as exc:  # handed to the consumer, who raises it
        mailbox.end(exc)
        return
    mailbox.end()


def _anonymize_stream(
    processor: FrameProcessor,
    mailbox: FrameMailbox,
    sink: LiveSink,
    cost: CostEstimate,
    settings: LiveSettings,
    report: LiveReport,
) -> str:
    """Anonymize frames from ``mailbox`` until it ends; return why the stream ended."""
    budget_s = settings.latency_budget_s

    def send(picture: _Picture) -> None:
        left = sink.write(picture.image, picture.pts, picture.time_base)
        report.frames_written += 1
        if picture.arrival_s is None:
            report.frames_repeated += 1
            return
        cost.observe(left - picture.taken_s)
        latency_s = left - picture.arrival_s
        report.latency.add(latency_s * 1000.0)
        report.frames_late += int(latency_s > budget_s)

    writer: BackgroundSink[_Picture] = BackgroundSink(send, depth=_WRITER_DEPTH, name="veil-live-writer")
    engine = processor.temporal_engine(forward_only=True, background_detection=settings.background_detection)
    last: Image | None = None
    processed = 0
    try:
        while (taken := mailbox.take()) is not None:
            report.frames_dropped += len(taken.dropped)
            if settings.repeat_dropped and last is not None:
                for gone in taken.dropped:
                    assert gone.frame.pts is not None and gone.frame.time_base is not None
                    writer.put(_Picture(last, gone.frame.pts, gone.frame.time_base, None, time.monotonic()))
            taken_s = time.monotonic()
            captured = taken.captured
            # The engine sees the frames it is given as one unbroken stream; dropped frames leave no gap.
            for item in engine.push(replace(captured.frame, index=processed)):
                last = _anonymize(processor, item, report).image
                frame = captured.frame
                assert frame.pts is not None and frame.time_base is not None
                writer.put(_Picture(last, frame.pts, frame.time_base, captured.arrival_s, taken_s))
            processed += 1
        if engine.flush():
            raise AssertionError("a forward-only engine held frames back")
    except KeyboardInterrupt:
        _log.info("interrupted: finishing the output")
        return "interrupted"
    finally:
        engine.close()
        writer.close()
    limit = settings.max_frames
    return "max frames" if limit is not None and report.frames_read >= limit else "end of stream"


def _anonymize(processor: FrameProcessor, item: FrameRegions, report: LiveReport | None) -> ProcessedFrame:
    frame = item.frame
    if item.regions is None:
        result = processor.hide_whole(frame.image)
    else:
        result = processor.process(frame.image, frame.index, item.regions)
    if report is not None:
        report.frames_detected += int(item.detected)
        report.frames_propagated += int(not item.detected and item.regions is not None)
        report.frames_anonymized += 1
        report.frames_hidden_whole += int(result.hidden_whole)
        report.count_regions(result.detections)
    return result
