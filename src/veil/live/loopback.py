"""Send a video file as a live MPEG-TS stream in real time: a stand-in camera for tests, benchmarks, demos."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
from av.container import OutputContainer
from av.video.stream import VideoStream

from veil.errors import OutputError
from veil.video.reader import VideoReader

__all__ = ["StreamSender"]

_log = logging.getLogger(__name__)

_TIME_BASE = Fraction(1, 90_000)
_MPEGTS_OPTIONS = {"flush_packets": "1", "omit_video_pes_length": "0"}  # as a low-latency camera sends


class StreamSender:
    """Play ``path`` to ``url`` as MPEG-TS (H.264, zerolatency), paced by its timestamps, on a thread.

    The sender connects (retrying for ``connect_timeout_s``, so a receiver that listens may start
    later), sends ``max_frames`` frames (all by default), optionally scaled to ``size`` (width,
    height), and closes. :attr:`sent_s` maps each frame's timestamp in seconds from the first frame
    to the monotonic time its packet was handed to the socket. An error is kept in :attr:`error`.

    With ``copy`` the file's own packets are sent as they are (``size`` and ``preset`` do not apply):
    a camera encodes on its own chip, so a benchmark that shares one machine between the stand-in
    camera and Veil should not charge Veil's cores for the camera's encoder. The file should hold
    H.264 without B-frames, as cameras send.
    """

    def __init__(
        self,
        path: Path,
        url: str,
        *,
        size: tuple[int, int] | None = None,
        max_frames: int | None = None,
        realtime: bool = True,
        connect_timeout_s: float = 10.0,
        preset: str = "ultrafast",
        copy: bool = False,
    ) -> None:
        self.path = Path(path)
        self.url = url
        self._size = size
        self._max_frames = max_frames
        self._realtime = realtime
        self._connect_timeout_s = connect_timeout_s
        self._preset = preset
        self._copy = copy
        self.sent_s: dict[float, float] = {}
        self.error: BaseException | None = None
        self.peer_closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="veil-stream-sender", daemon=True)

    def start(self) -> StreamSender:
        """Start sending on a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending early."""
        self._stop.set()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the sender to finish; raise its error if it failed."""
        self._thread.join(timeout_s)
        if self.error is not None:
            raise self.error

    def _connect(
        self, add_stream: Callable[[OutputContainer], VideoStream]
    ) -> tuple[OutputContainer, VideoStream]:
        """Open the output and write its header (FFmpeg connects only then), retrying until the deadline."""
        deadline = time.monotonic() + self._connect_timeout_s
        while True:
            out = av.open(self.url, "w", format="mpegts", container_options=dict(_MPEGTS_OPTIONS))
            stream = add_stream(out)
            try:
                out.start_encoding()
                return out, stream
            except av.error.FFmpegError as exc:
                out.close()
                if time.monotonic() > deadline or self._stop.is_set():
                    raise OutputError(f"{self.url}: cannot connect ({exc.strerror})") from exc
                time.sleep(0.05)

    def _run(self) -> None:
        try:
            self._send_packets() if self._copy else self._send()
        except (av.error.ConnectionResetError, av.error.BrokenPipeError):
            # The receiver hung up (it stopped early, e.g. on an error it was meant to raise): for a
            # sender that is the end of the stream, not a failure of its own.
            self.peer_closed = True
        except BaseException as exc:  # kept for join(), which re-raises it in the caller
            self.error = exc

    def _due(self, count: int) -> bool:
        """Whether frame ``count`` (from 0) is still to be sent."""
        return not self._stop.is_set() and (self._max_frames is None or count < self._max_frames)

    def _wait_until(self, started: float, offset: float) -> None:
        if self._realtime:
            time.sleep(max(0.0, started + offset - time.monotonic()))

    def _send_packets(self) -> None:
        with av.open(str(self.path)) as source:
            video = source.streams.video[0]
            out, stream = self._connect(lambda out: out.add_stream_from_template(video))
            try:
                started = time.monotonic()
                first: int | None = None
                count = 0
                for packet in source.demux(video):
                    if packet.pts is None or packet.time_base is None:
                        continue  # the flushing packet at the end
                    if not self._due(count):
                        break
                    first = packet.pts if first is None else first
                    offset = float((packet.pts - first) * packet.time_base)
                    self._wait_until(started, offset)
                    packet.stream = stream
                    out.mux(packet)
                    self.sent_s[round(offset, 6)] = time.monotonic()
                    count += 1
            finally:
                out.close()

    def _add_encoder(self, out: OutputContainer, rate: Fraction, width: int, height: int) -> VideoStream:
        stream = out.add_stream("libx264", rate=rate, options={"preset": self._preset, "tune": "zerolatency"})
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = _TIME_BASE
        stream.codec_context.gop_size = max(1, round(rate))
        return stream

    def _send(self) -> None:
        with VideoReader(self.path, max_pixels=8192 * 8192) as reader:
            width, height = self._size or (reader.info.width, reader.info.height)
            rate = reader.info.frame_rate
            out, stream = self._connect(lambda out: self._add_encoder(out, rate, width, height))
            try:
                started = time.monotonic()
                first: float | None = None
                for count, frame in enumerate(reader):
                    if not self._due(count):
                        break
                    when = frame.time_s or 0.0
                    first = when if first is None else first
                    offset = when - first
                    self._wait_until(started, offset)
                    image = frame.image
                    if image.shape[:2] != (height, width):
                        image = np.ascontiguousarray(cv2.resize(image, (width, height)), np.uint8)
                    picture = av.VideoFrame.from_ndarray(image, format="rgb24")
                    picture.pts = round(offset / _TIME_BASE)
                    picture.time_base = _TIME_BASE
                    out.mux(stream.encode(picture))
                    self.sent_s[round(offset, 6)] = time.monotonic()
                out.mux(stream.encode(None))
            finally:
                out.close()
