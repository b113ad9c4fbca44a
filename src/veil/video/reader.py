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

from veil.errors import UnreadableMediaError
from veil.types import Frame, VideoInfo
from veil.video.limits import check_frame_size
from veil.video.probe import check_readable_file, is_cover_art
from veil.video.timestamps import FrameClock

__all__ = ["VideoReader"]

_log = logging.getLogger(__name__)

# Used only when a stream states no frame rate at all (some raw streams); 25 is the PAL/raw-H.264 default.
_FALLBACK_FRAME_RATE = Fraction(25)

# Containers whose packets hold decode order only, so decoder timestamps are unreliable with B-frames.
_DECODE_ORDER_FORMATS = frozenset({"avi"})


def _frame_rate(stream: VideoStream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and 0 < rate < 1000:
            return Fraction(rate)
    return _FALLBACK_FRAME_RATE


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

    Raises:
        UnreadableMediaError: not media, no video stream, no decoder, nothing decodable, or a
            decode error part-way (the message names the frame index reached).
        UnsupportedFrameError: a frame is empty or larger than ``max_pixels``.
    """

    def __init__(self, path: Path, *, max_pixels: int) -> None:
        self._path = Path(path)
        self._max_pixels = max_pixels
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
        frame_rate = _frame_rate(stream)
        synthesize = bool(FormatFlags(container.format.flags) & FormatFlags.no_timestamps) or bool(
            _DECODE_ORDER_FORMATS & set(container.format.name.split(","))
        )
        clock = FrameClock(
            frame_rate=frame_rate,
            time_base=stream.time_base,
            start_pts=stream.start_time,
            synthesize=synthesize,
        )
        self._decoder = self._decode(container, stream)
        first = next(self._decoder, None)
        if first is None:
            raise UnreadableMediaError(f"{self._path}: no video frame could be decoded")
        self._info = VideoInfo(
            width=first.width,
            height=first.height,
            frame_rate=frame_rate,
            frame_count=stream.frames if stream.frames > 0 else None,
            has_audio=bool(container.streams.audio),
            rotation_deg=_normalized_rotation(first.rotation),
            codec=stream.codec_context.name,
        )
        converted = (self._to_frame(decoded, index, clock) for index, decoded in enumerate(self._decoder, 1))
        self._frames = itertools.chain((self._to_frame(first, 0, clock),), converted)

    def _decode(self, container: InputContainer, stream: VideoStream) -> Generator[VideoFrame, None, None]:
        """Yield decoded frames in presentation order; turn FFmpeg errors into Veil errors."""
        index = 0
        try:
            for packet in container.demux(stream):
                for decoded in packet.decode():
                    yield decoded
                    index += 1
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(
                f"{self._path}: decoding failed at frame {index} ({exc.strerror}); the file is corrupt"
            ) from exc

    def _to_frame(self, decoded: VideoFrame, index: int, clock: FrameClock) -> Frame:
        check_frame_size(decoded.width, decoded.height, self._max_pixels, f"{self._path} frame {index}")
        if decoded.is_corrupt:
            self._corrupt += 1
        image = np.ascontiguousarray(decoded.to_ndarray(format="rgb24"), dtype=np.uint8)
        return Frame(image=image, index=index, pts=clock.stamp(index, decoded.pts), time_base=clock.time_base)
