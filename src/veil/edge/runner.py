"""Read a live source frame by frame (forward only), anonymize each frame, segment and ship the result."""

from __future__ import annotations

import itertools
import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from veil.api import Pipeline, PipelineConfig, open_pipeline
from veil.edge.segments import SegmentWriter
from veil.edge.uploader import SegmentUploader, UploadError

__all__ = ["EdgeReport", "EdgeSettings", "run_edge"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeSettings:
    """One edge run.

    Args:
        source: a URL (rtsp://, http://) or file PyAV can open.
        server: the Veil server's base URL (https://host:8443).
        key: the device's API key (submit scope).
        stream_id: names this stream in idempotency keys (retries never duplicate a segment).
        segment_s: length of each uploaded segment.
        config: how frames are anonymized on the device.
        spool_dir: where segments wait for upload; None: a temporary folder, removed at the end.
        max_frames: stop after this many frames (None: until the source ends).
        ca_cert: CA bundle for a server with a private certificate.
        keep_segments: keep delivered segments in ``spool_dir``.
    """

    source: str
    server: str
    key: str
    stream_id: str = "edge"
    segment_s: float = 10.0
    config: PipelineConfig = field(default_factory=PipelineConfig)
    spool_dir: Path | None = None
    max_frames: int | None = None
    ca_cert: Path | None = None
    keep_segments: bool = False


@dataclass
class EdgeReport:
    """What an edge run did."""

    frames: int = 0
    segments: int = 0
    uploaded: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _frames(source: str) -> tuple[Fraction, Iterator[npt.NDArray[np.uint8]], Callable[[], None]]:
    options = {"rtsp_transport": "tcp"} if source.startswith("rtsp://") else {}
    container = av.open(source, "r", options=options)
    stream = container.streams.video[0]
    rate = Fraction(stream.average_rate or stream.guessed_rate or 25)

    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        for frame in container.decode(stream):
            yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)

    return rate, frames(), container.close


def _upload_loop(
    uploads: queue.Queue[Path | None], uploader: SegmentUploader, report: EdgeReport, keep: bool
) -> None:
    while (segment := uploads.get()) is not None:
        try:
            report.uploaded.append(uploader.upload(segment))
            if not keep:
                segment.unlink(missing_ok=True)
        except UploadError as exc:
            _log.error("%s", exc)
            report.failures.append(str(exc))  # the segment stays in the spool folder for a later run


def run_edge(settings: EdgeSettings, pipeline: Pipeline | None = None) -> EdgeReport:
    """Anonymize ``settings.source`` on this device and upload it in segments; return what happened."""
    report = EdgeReport()
    spool = settings.spool_dir or Path(tempfile.mkdtemp(prefix="veil-edge-"))
    uploader = SegmentUploader(settings.server, settings.key, settings.stream_id, ca_cert=settings.ca_cert)
    uploads: queue.Queue[Path | None] = queue.Queue(maxsize=8)
    sender = threading.Thread(
        target=_upload_loop, args=(uploads, uploader, report, settings.keep_segments), name="veil-edge-upload"
    )
    sender.start()
    rate, frames, close = _frames(settings.source)
    writer = SegmentWriter(spool, settings.stream_id, rate, round(float(rate) * settings.segment_s))
    try:
        with pipeline or open_pipeline(settings.config) as active:
            # The temporal engine, as the edge paper does: the detector on some frames, regions carried
            # by optical flow between them; or, with an obfuscator, every whole frame through it.
            # Forward-only (the edge command sets no lookahead): each frame is hidden before anything
            # else sees it.
            limited = itertools.islice(frames, settings.max_frames)
            for safe in active.anonymize_frames(limited):
                report.frames += 1
                done = writer.write(safe)
                if done is not None:
                    report.segments += 1
                    uploads.put(done)
        last = writer.flush()
        if last is not None:
            report.segments += 1
            uploads.put(last)
    finally:
        close()
        uploads.put(None)
        sender.join()
        uploader.close()
        if settings.spool_dir is None and not report.failures:
            shutil.rmtree(spool, ignore_errors=True)
    return report
