"""Read a camera, network stream or file as raw frames stamped with their arrival time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from types import TracebackType
from typing import Self

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from veil.errors import UnreadableMediaError
from veil.live.clock import LiveClock
from veil.live.endpoints import Source, SourceKind
from veil.live.mailbox import CapturedFrame
from veil.live.settings import LiveSettings
from veil.types import Frame
from veil.video.limits import check_frame_size

__all__ = ["LiveSource"]

_log = logging.getLogger(__name__)

_FALLBACK_RATE = Fraction(30)  # when a live stream states no rate; only used for repairs and the encoder
_CLOCK_TIME_BASE = Fraction(1, 90_000)  # MPEG-TS's own clock: exact for every common frame rate
_ARRIVALS_KEPT = 64  # packets remembered for matching a decoded frame to the packet that brought it


class LiveSource:
    """Frames of one live source, in arrival order, as :class:`CapturedFrame` s.

    :meth:`open` connects (raising :class:`UnreadableMediaError` that names the URL); :meth:`frames`
    then yields frames until the source ends, reopening a lost network source up to
    ``settings.reconnect_attempts`` times in a row. A frame's ``arrival_s`` is when the packet that
    carried it came out of the demuxer; its timestamp comes from :class:`LiveClock`. File sources are
    paced at their own rate when ``settings.realtime`` is set. Decoding uses slice threads only: frame
    threads would hold frames back.
    """

    def __init__(self, source: Source, settings: LiveSettings, *, max_pixels: int) -> None:
        self.source = source
        self._settings = settings
        self._max_pixels = max_pixels
        self._container: InputContainer | None = None
        self._stream: VideoStream | None = None
        self._clock: LiveClock | None = None
        self._frame_rate = _FALLBACK_RATE
        self._read = 0
        self.reconnects = 0
        self.corrupt_packets = 0

    @property
    def frame_rate(self) -> Fraction:
        """The source's nominal frame rate (30 when it states none)."""
        return self._frame_rate

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect to the source and find its video stream."""
        if self._container is not None:
            return
        label = self.source.label
        timeout = (self._settings.open_timeout_s, self._settings.read_timeout_s)
        try:
            container = av.open(
                self.source.url,
                "r",
                format=self.source.format,
                options=dict(self.source.options),
                timeout=timeout,
            )
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"{label}: cannot open the stream ({_reason(exc)})") from exc
        if not container.streams.video:
            container.close()
            raise UnreadableMediaError(f"{label}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        for rate in (stream.average_rate, stream.guessed_rate):
            if rate is not None and 0 < rate < 1000:
                self._frame_rate = Fraction(rate)
                break
        if self._clock is None:
            self._clock = LiveClock(_CLOCK_TIME_BASE, self._frame_rate)
        self._container, self._stream = container, stream

    def connect(self) -> None:
        """Open the source, retrying up to ``settings.reconnect_attempts`` times if it cannot be opened."""
        failures = 0
        while True:
            try:
                self.open()
                return
            except UnreadableMediaError as exc:
                self._may_reconnect(failures, exc)  # raises once the attempts are spent
            failures += 1
            time.sleep(self._settings.reconnect_delay_s)

    def close(self) -> None:
        """Disconnect; safe to call twice."""
        if self._container is not None:
            self._container.close()
            self._container = None
            self._stream = None

    def frames(self, should_stop: Callable[[], bool] = lambda: False) -> Iterator[CapturedFrame]:
        """Yield frames until the source ends, ``settings.max_frames`` are read, or ``should_stop()``."""
        failures = 0
        limit = self._settings.max_frames
        while True:
            try:
                self.open()
                for captured in self._decode():
                    failures = 0
                    yield captured
                    if should_stop() or (limit is not None and self._read >= limit):
                        return
                problem: UnreadableMediaError | None = None
            except UnreadableMediaError as exc:
                problem = exc
            self.close()
            if self.source.kind is SourceKind.FILE or not self._may_reconnect(failures, problem):
                return
            failures += 1
            self.reconnects += 1
            time.sleep(self._settings.reconnect_delay_s)
            if should_stop():
                return
            assert self._clock is not None
            self._clock.reconnected()

    def _may_reconnect(self, failures: int, problem: UnreadableMediaError | None) -> bool:
        """Return whether to reopen the source; raise ``problem`` once the attempts are spent."""
        attempts = self._settings.reconnect_attempts
        if failures < attempts:
            what = "ended" if problem is None else f"failed: {problem}"
            _log.warning("%s %s; reconnecting (%d of %d)", self.source.label, what, failures + 1, attempts)
            return True
        if problem is None:
            return False  # the stream ended and (if allowed) did not come back: a normal end
        if attempts:
            raise UnreadableMediaError(f"{problem} (gave up after {attempts} reconnection attempts)")
        raise problem

    def _decode(self) -> Iterator[CapturedFrame]:
        container, stream, clock = self._container, self._stream, self._clock
        assert container is not None and stream is not None and clock is not None
        arrivals: dict[int, float] = {}
        started: float | None = None  # wall time of time 0, for real-time pacing
        label = self.source.label
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets, None)
            except av.error.FFmpegError as exc:
                raise UnreadableMediaError(f"{label}: reading the stream failed ({_reason(exc)})") from exc
            if packet is None:
                return
            now = time.monotonic()
            if packet.pts is not None:
                arrivals[packet.pts] = now
                if len(arrivals) > _ARRIVALS_KEPT:
                    del arrivals[next(iter(arrivals))]
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError as exc:
                # A damaged packet (lost UDP datagrams) costs its frame, not the stream.
                self.corrupt_packets += 1
                _log.debug("%s: skipped an undecodable packet: %s", label, exc)
                continue
            for picture in decoded:
                arrival = arrivals.pop(picture.pts, now) if picture.pts is not None else now
                ticks = clock.stamp(picture.pts, picture.time_base, arrival)
                if self._settings.realtime and self.source.kind is SourceKind.FILE:
                    started = started if started is not None else arrival
                    arrival = _wait_until(started + float(ticks * clock.time_base))
                check_frame_size(
                    picture.width, picture.height, self._max_pixels, f"{label} frame {self._read}"
                )
                image = np.ascontiguousarray(picture.to_ndarray(format="rgb24"), dtype=np.uint8)
                frame = Frame(image=image, index=self._read, pts=ticks, time_base=clock.time_base)
                self._read += 1
                yield CapturedFrame(frame, arrival)


def _wait_until(deadline: float) -> float:
    """Sleep until ``deadline`` (monotonic seconds) and return the time it is then."""
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    return time.monotonic()


def _reason(exc: av.error.FFmpegError) -> str:
    if isinstance(exc, av.error.ExitError):
        return "timed out"
    return str(exc.strerror or exc)
