"""Encode anonymized frames into a new video beside the original's audio and tags, published atomically."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Self

import av
import av.error
import cv2
import numpy as np
from av.codec import Codec
from av.container import OutputContainer
from av.packet import Packet
from av.video.reformatter import ColorRange, Colorspace
from av.video.stream import VideoStream

from veil.errors import ConfigError, OutputError, UnreadableMediaError
from veil.types import Frame, Image, VideoInfo
from veil.video.atomic import check_output, discard, partial_path, publish
from veil.video.encoder import encoder_options
from veil.video.metadata import clean_metadata
from veil.video.output_plan import OUTPUT_FORMATS, RAW_FORMATS, OutputPlan, plan_output
from veil.video.probe import is_cover_art
from veil.video.remux import SideStreams
from veil.video.settings import EncoderConfig

__all__ = ["LOSSLESS_RGB_FORMATS", "OUTPUT_FORMATS", "VideoWriter"]

_log = logging.getLogger(__name__)

_PIXEL_FORMAT = "yuv420p"  # what every player decodes
# Lossless encoders are given RGB as it is: a trip through YUV 4:2:0 would change pixels, and scrambled
# regions must come back bit-exact (veil.scramble).
LOSSLESS_RGB_FORMATS = MappingProxyType({"ffv1": "bgr0", "libx264rgb": "rgb24"})

_BT601_MATRIX = 6  # AVCOL_SPC_SMPTE170M: the matrix of OpenCV's RGB→I420 and swscale's default

# Muxers that store one frame per time-base slot (AVI) or no times at all (raw streams); they cannot
# record a start time, so their output starts at zero and the copied streams move with the video.
_FRAME_SLOT_FORMATS = frozenset({"avi"}) | RAW_FORMATS

# A slot container writes an empty chunk for every slot without a frame: a source time base at most
# this many slots per frame is kept (a 25 fps AVI at 1/50 stays so), a finer one becomes frame periods.
_MAX_SLOTS_PER_FRAME = 4


def _slot_time_base(source: Fraction | None, frame_rate: Fraction) -> Fraction:
    """Return the time base a slot container writes frames in: the source's where it is coarse."""
    if source is not None and source > 0:
        slots = 1 / (source * frame_rate)
        if slots.denominator == 1 and 1 <= slots <= _MAX_SLOTS_PER_FRAME:
            return source
    return 1 / frame_rate


def _pixel_format(codec: Codec) -> str:
    if codec.name in LOSSLESS_RGB_FORMATS:
        return LOSSLESS_RGB_FORMATS[codec.name]
    formats = [f.name for f in codec.video_formats or ()]
    return _PIXEL_FORMAT if not formats or _PIXEL_FORMAT in formats else formats[0]


def _source_tags(source: Path, *, strip_location: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Return the container tags and the video stream tags of ``source`` worth copying."""
    try:
        with av.open(str(source), "r") as container:
            video = [s for s in container.streams.video if not is_cover_art(s)]
            stream_tags = dict(video[0].metadata) if video else {}
            return (
                clean_metadata(container.metadata, strip_location=strip_location),
                clean_metadata(stream_tags, strip_location=strip_location),
            )
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(f"{source}: cannot reopen to copy its tags ({exc.strerror})") from exc


class VideoWriter:
    """Write frames as a new video at ``dst``, keeping the source's timing, rotation, audio and tags.

    Frames go to a hidden ``.NAME.partial.SUFFIX`` file in dst's folder; :meth:`commit` flushes the
    encoder and renames it onto ``dst`` in one step. :meth:`abort` — and leaving the ``with`` block
    without a commit, by exception or not — deletes the partial file, so a failed run never leaves
    half a video under the final name and never touches an existing ``dst``.

    Each image is encoded with its frame's own timestamp, so frame count, frame rate and variable
    frame timing carry over exactly (AVI stores whole slots of its time base; raw ``.h264``/``.h265``
    streams store no times, only the frame rate). The container picks the video encoder unless the
    config names one. Audio and subtitle streams (and, without ``strip_location``, data streams) are
    copied packet for packet from a second read of ``source``, or re-encoded where the container
    cannot hold them, as ``plan`` (by default :func:`~veil.video.output_plan.plan_output`) decides.
    Odd frame sizes are padded by one replicated edge row/column, because 4:2:0 video cannot hold odd
    sizes.

    Example::

        with VideoReader(src, max_pixels=limit) as reader:
            with VideoWriter(dst, src, reader.info, EncoderConfig()) as writer:
                for frame in reader:
                    writer.write(frame, anonymize(frame.image))
                writer.commit()

    Raises:
        OutputError: ``dst`` is the source, its folder is missing or unwritable, its suffix is not a
            video container, or encoding/writing fails.
        ConfigError: the configured encoder is not available.
    """

    def __init__(
        self,
        dst: Path,
        source: Path,
        info: VideoInfo,
        encoder: EncoderConfig,
        *,
        keep_audio: bool = True,
        strip_location: bool = True,
        plan: OutputPlan | None = None,
    ) -> None:
        self._dst = Path(dst)
        self._source = Path(source)
        check_output(self._dst, self._source)
        if plan is None:
            plan = plan_output(
                self._dst, self._source, encoder, keep_audio=keep_audio, strip_location=strip_location
            )
            for note in plan.notes:
                _log.warning("%s: %s", self._dst.name, note)
        self._plan = plan
        self._format = plan.format
        self._codec = plan.codec
        self._pix_fmt = _pixel_format(self._codec)
        self._partial = partial_path(self._dst)
        self._info = info
        self._encoder = encoder
        self._strip_location = strip_location
        self._out: OutputContainer | None = None
        self._video: VideoStream | None = None
        self._side: SideStreams | None = None
        self._time_base = 1 / info.frame_rate
        # 4:2:0 chroma needs even sides; RGB keeps the frame's own size.
        rgb = self._pix_fmt in LOSSLESS_RGB_FORMATS.values()
        self._size = (
            (info.width, info.height) if rgb else (info.width + info.width % 2, info.height + info.height % 2)
        )
        self._last_pts: int | None = None
        self._start_s = Fraction(0)  # subtracted from every timestamp (slot containers start at zero)
        self._frames = 0
        self._done = False

    @property
    def partial(self) -> Path:
        """Where the output is being written until :meth:`commit`."""
        return self._partial

    @property
    def frames_written(self) -> int:
        """Frames handed to the encoder so far."""
        return self._frames

    @property
    def packets_copied(self) -> dict[int, int]:
        """Packets copied from the source so far, by source stream index."""
        return {} if self._side is None else dict(self._side.copied)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            if exc_type is None:
                _log.warning("%s: writer closed without commit(); discarding the output", self._dst)
            self.abort()

    def open(self) -> None:
        """Create the partial file and copy the source's tags into it."""
        if self._out is not None or self._done:
            return
        container_tags, self._video_tags = _source_tags(self._source, strip_location=self._strip_location)
        try:
            # FFmpeg creates the file only when the header is written; find out now if it can be.
            with self._partial.open("wb"):
                pass
            self._out = av.open(str(self._partial), "w", format=self._format)
        except (av.error.FFmpegError, OSError) as exc:
            discard(self._partial)
            raise OutputError(f"cannot create {self._partial}: {exc.strerror or exc}") from exc
        self._out.metadata.update(container_tags)

    def write(self, frame: Frame, image: Image) -> None:
        """Encode ``image`` as the picture of ``frame`` (its index and timestamp)."""
        if self._out is None or self._done:
            raise RuntimeError("VideoWriter is not open: use it as a context manager")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be H×W×3 uint8 RGB, got shape {image.shape} dtype {image.dtype}")
        try:
            if self._video is None:
                self._video = self._start(self._out, frame)
            picture = self._picture(image)
            picture.pts = self._pts(frame)
            picture.time_base = self._time_base
            for packet in self._video.encode(picture):
                self._mux_video(packet)
        except av.error.FFmpegError as exc:
            raise OutputError(f"{self._dst}: encoding frame {frame.index} failed ({exc.strerror})") from exc
        self._frames += 1

    def commit(self) -> None:
        """Flush the encoder, copy the remaining audio, finish the file and publish it as ``dst``."""
        if self._done:
            return
        if self._out is None:
            raise RuntimeError("VideoWriter is not open: use it as a context manager")
        try:
            if self._video is None:
                raise OutputError(f"{self._dst}: no frames were written; nothing to publish")
            for packet in self._video.encode(None):
                self._mux_video(packet)
            if self._side is not None:
                self._side.mux_until(self._out, None)
                self._side.close()
            self._out.close()
        except av.error.FFmpegError as exc:
            self.abort()
            raise OutputError(f"{self._dst}: finishing the video failed ({exc.strerror})") from exc
        except BaseException:
            self.abort()
            raise
        self._out = None
        publish(self._partial, self._dst)
        self._done = True
        copied = sum(self.packets_copied.values())
        _log.info("%s: wrote %d frames, copied %d audio/subtitle packets", self._dst, self._frames, copied)

    def abort(self) -> None:
        """Stop writing and delete the partial file; ``dst`` is left as it was."""
        if self._done:
            return
        self._done = True
        if self._side is not None:
            self._side.close()
        if self._out is not None:
            try:
                self._out.close()
            except (av.error.FFmpegError, OSError) as exc:
                _log.debug("closing the aborted output %s: %s", self._partial, exc)
            self._out = None
        discard(self._partial)

    def _start(self, out: OutputContainer, first: Frame) -> VideoStream:
        """Add the video stream (time base from the first frame), then the copied streams."""
        if self._format in RAW_FORMATS:
            self._time_base = 1 / self._info.frame_rate
        elif self._format in _FRAME_SLOT_FORMATS:
            self._time_base = _slot_time_base(first.time_base, self._info.frame_rate)
        elif first.time_base is not None and first.pts is not None:
            self._time_base = first.time_base
        stream = out.add_stream(
            self._codec.name, rate=self._info.frame_rate, options=encoder_options(self._encoder, self._codec)
        )
        if not isinstance(stream, VideoStream):
            raise ConfigError(f"encoder {self._codec.name!r} is not a video encoder")
        stream.width, stream.height = self._size
        stream.pix_fmt = self._pix_fmt
        stream.codec_context.time_base = self._time_base
        stream.time_base = self._time_base
        # Tag what _picture converts with, so players do not guess the matrix from the frame size.
        stream.codec_context.colorspace = _BT601_MATRIX
        stream.codec_context.color_range = int(ColorRange.MPEG)
        if self._info.rotation_deg:
            stream.set_display_rotation(self._info.rotation_deg)
        stream.metadata.update(self._video_tags)
        if self._format in _FRAME_SLOT_FORMATS and first.pts is not None and first.time_base is not None:
            self._start_s = first.pts * first.time_base
        self._side = SideStreams(
            self._source, out, self._plan, strip_location=self._strip_location, start_s=self._start_s
        )
        return stream

    def _picture(self, image: Image) -> av.VideoFrame:
        width, height = self._size
        if image.shape[:2] != (self._info.height, self._info.width):
            _log.debug("frame size %s differs from the stream's; scaling", image.shape[:2])
            size = (self._info.width, self._info.height)
            image = np.ascontiguousarray(
                cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        if (self._info.width, self._info.height) != (width, height):
            # Pad odd sizes with a copy of the last row/column: no new content, only anonymized pixels.
            pad = ((0, height - self._info.height), (0, width - self._info.width), (0, 0))
            image = np.ascontiguousarray(np.pad(image, pad, mode="edge"), dtype=np.uint8)
        image = np.ascontiguousarray(image)
        if self._pix_fmt == _PIXEL_FORMAT:
            # OpenCV's I420 is BT.601 limited range, as tagged in _start; it is much faster than swscale.
            yuv = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)
            return av.VideoFrame.from_ndarray(yuv, format=_PIXEL_FORMAT)
        picture = av.VideoFrame.from_ndarray(image, format="rgb24")
        return picture.reformat(
            format=self._pix_fmt, dst_colorspace=Colorspace.ITU601, dst_color_range=ColorRange.MPEG
        )

    def _pts(self, frame: Frame) -> int:
        if frame.pts is None or frame.time_base is None:
            pts = round(self._frames / self._info.frame_rate / self._time_base)
        else:
            pts = round((frame.pts * frame.time_base - self._start_s) / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            # Encoders refuse repeated or backward timestamps; nudge by one tick.
            _log.debug("frame %d: timestamp %d not after %d; nudging", frame.index, pts, self._last_pts)
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def _mux_video(self, packet: Packet[VideoStream]) -> None:
        assert self._out is not None
        when: Fraction | None = None
        if packet.dts is not None:
            when = packet.dts * packet.time_base + self._start_s
        self._out.mux(packet)
        if self._side is not None and when is not None:
            self._side.mux_until(self._out, when)
