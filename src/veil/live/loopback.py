"""Send a video file as a live MPEG-TS stream in real time: a stand-in camera for tests, benchmarks, demos."""

from __future__ import annotations

import logging
import threading
import time
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
    ) -> None:
        self.path = Path(path)
        self.url = url
        self._size = size
        self._max_frames = max_frames
        self._realtime = realtime
        self._connect_timeout_s = connect_timeout_s
        self._preset = preset
        self.sent_s: dict[float, float] = {}
        self.error: BaseException | None = None
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

    def _connect(self, rate: Fraction, width: int, height: int) -> tuple[OutputContainer, VideoStream]:
        """Open the output and write its header (FFmpeg connects only then), retrying until the deadline."""
        deadline = time.monotonic() + self._connect_timeout_s
        while True:
            out = av.open(self.url, "w", format="mpegts", container_options=dict(_MPEGTS_OPTIONS))
            stream = out.add_stream(
                "libx264", rate=rate, options={"preset": self._preset, "tune": "zerolatency"}
            )
            assert isinstance(stream, VideoStream)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = _TIME_BASE
            stream.codec_context.gop_size = max(1, round(rate))
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
            self._send()
        except BaseException as exc:  # kept for join(), which re-raises it in the caller
            self.error = exc

    def _send(self) -> None:
        with VideoReader(self.path, max_pixels=8192 * 8192) as reader:
            width, height = self._size or (reader.info.width, reader.info.height)
            out, stream = self._connect(reader.info.frame_rate, width, height)
            try:
                started = time.monotonic()
                first: float | None = None
                for count, frame in enumerate(reader):
                    if self._stop.is_set() or (self._max_frames is not None and count >= self._max_frames):
                        break
                    when = frame.time_s or 0.0
                    first = when if first is None else first
                    offset = when - first
                    if self._realtime:
                        time.sleep(max(0.0, started + offset - time.monotonic()))
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
