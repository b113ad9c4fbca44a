"""Decode any FFmpeg-readable video into RGB frames with exact, strictly increasing timestamps."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Generator, Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.format import Flags as FormatFlags
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from veil.errors import TruncatedMediaError, UnreadableMediaError
from veil.types import Frame, VideoInfo
from veil.video.limits import check_frame_size
from veil.video.probe import check_readable_file, is_cover_art
from veil.video.timestamps import FrameClock, TimingSource
from veil.video.truncation import DeclaredLength, declared_length

__all__ = ["VideoReader"]

_log = logging.getLogger(__name__)

# Used only when a stream states no frame rate at all (some raw streams); 25 is the PAL/raw-H.264 default.
_FALLBACK_FRAME_RATE = Fraction(25)

# Containers whose packets hold decode order only, so decoder timestamps are unreliable with B-frames.
_DECODE_ORDER_FORMATS = frozenset({"avi"})

# Packets looked at to learn the spacing of frames in a decode-order container.
_RATE_SCAN_PACKETS = 64


def _frame_rate(stream: VideoStream, source: TimingSource) -> Fraction:
    rates: tuple[Fraction | None, ...] = (stream.average_rate, stream.guessed_rate, stream.base_rate)
    if source is TimingSource.FRAME_INDEX:
        # A raw stream's "average" is the demuxer's default (25); the guess reads the stream's own timing.
        rates = (stream.guessed_rate, stream.average_rate)
    for rate in rates:
        if rate is not None and 0 < rate < 1000:
            return Fraction(rate)
    return _FALLBACK_FRAME_RATE


def _timing_source(container: InputContainer) -> TimingSource:
    if FormatFlags(container.format.flags) & FormatFlags.no_timestamps:
        return TimingSource.FRAME_INDEX
    if _DECODE_ORDER_FORMATS & set(container.format.name.split(",")):
        return TimingSource.PACKETS
    return TimingSource.DECODER


def _slot_frame_rate(path: Path, nominal: Fraction) -> Fraction:
    """Return the frame rate a decode-order file really plays at, from the spacing of its packets.

    An AVI whose time base is finer than its frames (25 fps in 1/50 ticks, every other slot empty)
    states the slot rate (50) as its frame rate; the packets' timestamps show the frames' own.
    """
    with av.open(str(path), "r") as container:
        stream = container.streams.video[0]
        stamps = sorted(
            {
                packet.dts
                for packet in itertools.islice(container.demux(stream), _RATE_SCAN_PACKETS)
                if packet.size and packet.dts is not None
            }
        )
        time_base = stream.time_base
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    if not gaps or time_base is None:
        return nominal
    usual = max(set(gaps), key=gaps.count)
    rate = 1 / (usual * time_base)
    return rate if 0 < rate < nominal else nominal


def _normalized_rotation(degrees: float) -> int:
    """Return ``degrees`` as one of 0, 90, 180, 270 (counter-clockwise)."""
    return round(degrees / 90.0) % 4 * 90


class VideoReader:
    """Read a video file frame by frame as RGB images with their timestamps.

    Opens on ``with``: the first frame is decoded up front, so a file that opens but cannot be
    decoded fails there, and :attr:`info` knows the display rotation. Iterating yields
    :class:`~veil.types.Frame` objects in presentation order; iterate once.

    Frames are as stored: ``info.rotation_deg`` says how far (counter-clockwise) a player turns them.

    Example::

        with VideoReader(Path("clip.mp4"), max_pixels=8192 * 8192) as reader:
            for frame in reader:
                ...

    A file that stops before the length its container declares, or whose decoding fails part-way,
    is damaged: iterating raises :class:`~veil.errors.TruncatedMediaError` once the frames that did
    decode are out, unless ``accept_truncated`` is set; then it logs a warning, ends there, and
    :attr:`damage` says what was missing.

    Raises:
        UnreadableMediaError: not media, no video stream, no decoder, nothing decodable.
        TruncatedMediaError: fewer frames than declared, or a decode error part-way (the message names
            the frames decoded and the length declared).
        UnsupportedFrameError: a frame is empty or larger than ``max_pixels``.
    """

    def __init__(self, path: Path, *, max_pixels: int, accept_truncated: bool = False) -> None:
        self._path = Path(path)
        self._max_pixels = max_pixels
        self._accept_truncated = accept_truncated
        self._damage: str | None = None
        self._container: InputContainer | None = None
        self._frames: Iterator[Frame] | None = None
        self._decoder: Generator[VideoFrame, None, None] | None = None
        self._info: VideoInfo | None = None
        self._corrupt = 0

    @property
    def path(self) -> Path:
        """The file being read."""
        return self._path

    @property
    def damage(self) -> str | None:
        """Why the file ended early (only with ``accept_truncated``); None while it looks whole."""
        return self._damage

    @property
    def info(self) -> VideoInfo:
        """Size, frame rate, frame count (None when the container does not say), audio, rotation, codec."""
        if self._info is None:
            raise RuntimeError("VideoReader is not open: use it as a context manager")
        return self._info

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        if self._frames is None:
            raise RuntimeError("VideoReader is not open: use it as a context manager")
        return self._frames

    def open(self) -> None:
        """Open the file, find its video stream and decode the first frame."""
        if self._container is not None:
            return
        check_readable_file(self._path)
        try:
            self._container = av.open(str(self._path), "r")
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"{self._path}: not a video FFmpeg can read ({exc.strerror})") from exc
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop decoding and release the file; safe to call twice."""
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None
        if self._corrupt:
            _log.warning("%s: %d frames were decoded with errors (concealed)", self._path, self._corrupt)
            self._corrupt = 0

    def _start(self) -> None:
        assert self._container is not None
        container = self._container
        streams = [s for s in container.streams.video if not is_cover_art(s)]
        if not streams:
            found = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
            raise UnreadableMediaError(f"{self._path}: has no video stream ({found})")
        stream = streams[0]
        if stream.codec_context is None:
            raise UnreadableMediaError(f"{self._path}: this FFmpeg build has no decoder for its video codec")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width or height:  # 0×0 here means "learn from the first frame"
            check_frame_size(width, height, self._max_pixels, str(self._path))
        stream.thread_type = "AUTO"
        source = _timing_source(container)
        frame_rate = _frame_rate(stream, source)
        if source is TimingSource.PACKETS:
            frame_rate = _slot_frame_rate(self._path, frame_rate)
        clock = FrameClock(
            frame_rate=frame_rate, time_base=stream.time_base, start_pts=stream.start_time, source=source
        )
        declared = declared_length(container, stream, frame_rate)
        self._decoder = self._decode(container, stream, clock)
        first = next(self._decoder, None)
        if first is None:
            raise UnreadableMediaError(f"{self._path}: no video frame could be decoded")
        frame_count = stream.frames if stream.frames > 0 else None
        if frame_count is not None and source is TimingSource.PACKETS:
            frame_count //= clock.frame_period_ticks  # AVI counts empty slots too
        self._info = VideoInfo(
            width=first.width,
            height=first.height,
            frame_rate=frame_rate,
            frame_count=frame_count,
            has_audio=bool(container.streams.audio),
            rotation_deg=_normalized_rotation(first.rotation),
            codec=stream.codec_context.name,
        )
        self._frames = self._frames_of(first, clock, declared)

    def _frames_of(
        self, first: VideoFrame, clock: FrameClock, declared: DeclaredLength | None
    ) -> Iterator[Frame]:
        """Yield every frame, then refuse (or note) a file that ended before its declared length."""
        assert self._decoder is not None
        frame = self._to_frame(first, 0, clock)
        yield frame
        for index, decoded in enumerate(self._decoder, 1):
            frame = self._to_frame(decoded, index, clock)
            yield frame
        if self._damage is None and declared is not None:
            self._damage = declared.shortfall(frame, clock.frame_period_ticks)
        if self._damage is None:
            return
        if not self._accept_truncated:
            raise TruncatedMediaError(
                f"{self._path}: {self._damage}; the file is truncated or damaged and nothing was written "
                "(--accept-truncated anonymizes the frames that decode)"
            )
        _log.warning("%s: %s; writing the frames that decoded (--accept-truncated)", self._path, self._damage)

    def _decode(
        self, container: InputContainer, stream: VideoStream, clock: FrameClock
    ) -> Generator[VideoFrame, None, None]:
        """Yield decoded frames in presentation order; a decode error part-way ends them as damage."""
        index = 0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    clock.offer(packet.dts)
                for decoded in packet.decode():
                    yield decoded
                    index += 1
        except av.error.FFmpegError as exc:
            if index == 0:
                raise UnreadableMediaError(
                    f"{self._path}: decoding failed at frame 0 ({exc.strerror}); the file is corrupt"
                ) from exc
            self._damage = f"decoding failed at frame {index} ({exc.strerror})"

    def _to_frame(self, decoded: VideoFrame, index: int, clock: FrameClock) -> Frame:
        check_frame_size(decoded.width, decoded.height, self._max_pixels, f"{self._path} frame {index}")
        if decoded.is_corrupt:
            self._corrupt += 1
        image = np.ascontiguousarray(decoded.to_ndarray(format="rgb24"), dtype=np.uint8)
        return Frame(image=image, index=index, pts=clock.stamp(index, decoded.pts), time_base=clock.time_base)
