"""Anonymize a live source forward-only within a latency budget: read → drop stale → anonymize → send."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from veil.live.endpoints import SourceKind, parse_destination, parse_source
from veil.live.mailbox import CostEstimate, FrameMailbox, Taken
from veil.live.report import LiveReport
from veil.live.settings import LiveSettings
from veil.live.sink import LiveSink
from veil.live.source import LiveSource
from veil.pipeline.frame_processor import FrameProcessor, WholeFrameEngine
from veil.pipeline.loop import run_stages
from veil.pipeline.temporal import TemporalEngine
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


class _LiveEngine:
    """The live loop's engine: the forward-only temporal engine, then the anonymizer, per taken frame.

    With a whole-frame method (the obfuscator) the inner engine is :class:`WholeFrameEngine`: every
    frame goes through the network, nothing is detected, and no frame counts as propagated.

    Anonymizing happens here, on the processing thread, not on the writer's: a live frame should leave
    as soon as it is ready, and the writer only encodes and sends. Dropped frames become repeats of the
    last anonymized picture when ``settings.repeat_dropped``; never a raw frame.
    """

    def __init__(
        self,
        processor: FrameProcessor,
        engine: TemporalEngine | WholeFrameEngine,
        settings: LiveSettings,
        report: LiveReport,
    ) -> None:
        self._processor = processor
        self._engine = engine
        self._whole = isinstance(engine, WholeFrameEngine)
        self._repeat_dropped = settings.repeat_dropped
        self._report = report
        self._last: Image | None = None
        self._processed = 0

    def push(self, taken: Taken) -> Iterator[_Picture]:
        # A generator: repeats reach the writer before this frame is anonymized, so their encoding
        # overlaps that work instead of delaying this frame's.
        report = self._report
        report.frames_dropped += len(taken.dropped)
        if self._repeat_dropped and self._last is not None:
            for gone in taken.dropped:
                assert gone.frame.pts is not None and gone.frame.time_base is not None
                yield _Picture(self._last, gone.frame.pts, gone.frame.time_base, None, time.monotonic())
        taken_s = time.monotonic()
        captured = taken.captured
        # The engine sees the frames it is given as one unbroken stream; dropped frames leave no gap.
        for item in self._engine.push(replace(captured.frame, index=self._processed)):
            report.count_schedule(item, reviewed=self._whole)
            result = self._processor.anonymize(item)
            report.count_anonymized(result)
            self._last = result.image
            frame = captured.frame
            assert frame.pts is not None and frame.time_base is not None
            yield _Picture(self._last, frame.pts, frame.time_base, captured.arrival_s, taken_s)
        self._processed += 1

    def flush(self) -> list[_Picture]:
        if self._engine.flush():
            raise AssertionError("a forward-only engine held frames back")
        return []


def _taken(mailbox: FrameMailbox) -> Iterator[Taken]:
    while (taken := mailbox.take()) is not None:
        yield taken


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

    engine: TemporalEngine | WholeFrameEngine
    if processor.whole_frame is not None:
        engine = WholeFrameEngine(processor)
    else:
        engine = processor.temporal_engine(
            forward_only=True, background_detection=settings.background_detection
        )
    try:
        run_stages(
            _taken(mailbox),
            _LiveEngine(processor, engine, settings, report),
            send,
            writer_thread="veil-live-writer",
            writer_depth=_WRITER_DEPTH,
        )
    except KeyboardInterrupt:
        _log.info("interrupted: finishing the output")
        return "interrupted"
    finally:
        engine.close()
    limit = settings.max_frames
    return "max frames" if limit is not None and report.frames_read >= limit else "end of stream"
