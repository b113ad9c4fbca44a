"""Encode anonymized frames with no encoder delay and send them to a file or a network stream."""

from __future__ import annotations

import logging
import time
from fractions import Fraction

import av
import av.error
import cv2
import numpy as np
from av.container import OutputContainer
from av.video.reformatter import ColorRange
from av.video.stream import VideoStream

from veil.errors import ConfigError, OutputError
from veil.live.endpoints import Destination
from veil.types import Image
from veil.video.atomic import discard, partial_path, publish
from veil.video.encoder import encoder_options, find_encoder
from veil.video.settings import EncoderConfig

__all__ = ["LiveSink"]

_log = logging.getLogger(__name__)

_BT601_MATRIX = 6  # AVCOL_SPC_SMPTE170M: the matrix of OpenCV's RGB→I420
_KEYFRAME_INTERVAL_S = 1  # a viewer joining mid-stream waits at most this long for a picture

# flush_packets: hand each packet to the socket at once. omit_video_pes_length=0: state each video PES's
# length, so the receiving demuxer can pass a frame on without waiting for the next one.
_MPEGTS_OPTIONS = {"flush_packets": "1", "omit_video_pes_length": "0"}


class LiveSink:
    """Write pictures with given timestamps to ``destination`` as they come.

    A file is written as a hidden ``.partial`` file beside it and published by :meth:`close` with
    ``commit=True``; ``commit=False`` deletes it. A network destination is sent to as it goes.
    :meth:`write` returns the moment the frame's packet was handed to the muxer (when it "leaves"; with
    x264's zerolatency tuning every frame's packet comes out of the encoder at once).

    Raises:
        OutputError: the destination cannot be created, connected to or written.
        ConfigError: the encoder is not available.
    """

    def __init__(self, destination: Destination, encoder: EncoderConfig, frame_rate: Fraction) -> None:
        self.destination = destination
        self._encoder = encoder
        self._frame_rate = frame_rate
        self._codec = find_encoder(encoder, destination.format)
        self._out: OutputContainer | None = None
        self._video: VideoStream | None = None
        self._size: tuple[int, int] | None = None
        self._last_pts: int | None = None
        self._target = partial_path(destination.path) if destination.path is not None else None
        self.frames_written = 0

    def _open(self, width: int, height: int, time_base: Fraction) -> tuple[OutputContainer, VideoStream]:
        label = self.destination.label
        url = str(self._target) if self._target is not None else self.destination.url
        options = dict(_MPEGTS_OPTIONS) if self.destination.format == "mpegts" else {}
        try:
            out = av.open(url, "w", format=self.destination.format, container_options=options)
        except av.error.FFmpegError as exc:
            if self._target is not None:
                discard(self._target)
            raise OutputError(f"{label}: cannot open for writing ({exc.strerror or exc})") from exc
        stream = out.add_stream(
            self._codec.name,
            rate=self._frame_rate,
            options=encoder_options(self._encoder, self._codec, low_latency=True),
        )
        if not isinstance(stream, VideoStream):
            out.close()
            raise ConfigError(f"encoder {self._codec.name!r} is not a video encoder")
        # 4:2:0 needs even sizes; odd frames get one replicated edge row/column (no new content).
        self._size = (width + width % 2, height + height % 2)
        stream.width, stream.height = self._size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        stream.codec_context.gop_size = max(1, round(self._frame_rate * _KEYFRAME_INTERVAL_S))
        stream.codec_context.colorspace = _BT601_MATRIX
        stream.codec_context.color_range = int(ColorRange.MPEG)
        return out, stream

    def write(self, image: Image, pts: int, time_base: Fraction) -> float:
        """Encode ``image`` at ``pts`` (in ``time_base``) and mux its packet; return the time it left."""
        if self._video is None:
            self._out, self._video = self._open(image.shape[1], image.shape[0], time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(f"timestamps must increase: {pts} after {self._last_pts}")
        self._last_pts = pts
        picture = self._picture(image)
        picture.pts = pts
        picture.time_base = time_base
        try:
            packets = self._video.encode(picture)
            assert self._out is not None
            self._out.mux(packets)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.destination.label}: sending frame failed ({_reason(exc)})") from exc
        self.frames_written += 1
        return time.monotonic()

    def close(self, *, commit: bool) -> None:
        """Flush the encoder and finish; a file is published when ``commit``, else deleted."""
        out, video = self._out, self._video
        self._out, self._video = None, None
        try:
            if out is not None and video is not None and commit:
                out.mux(video.encode(None))
            if out is not None:
                out.close()
        except (av.error.FFmpegError, OSError) as exc:
            commit = False
            raise OutputError(
                f"{self.destination.label}: finishing the output failed ({_reason(exc)})"
            ) from exc
        finally:
            if self._target is not None and self.destination.path is not None:
                if commit and self.frames_written:
                    publish(self._target, self.destination.path)
                else:
                    discard(self._target)
                self._target = None

    def _picture(self, image: Image) -> av.VideoFrame:
        assert self._size is not None
        width, height = self._size
        if (image.shape[1] + image.shape[1] % 2, image.shape[0] + image.shape[0] % 2) != (width, height):
            raise ValueError(f"frame size {image.shape[1]}×{image.shape[0]} differs from the stream's")
        if image.shape[:2] != (height, width):
            pad = ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0))
            image = np.pad(image, pad, mode="edge")
        yuv = np.ascontiguousarray(
            cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YUV_I420), np.uint8
        )
        return av.VideoFrame.from_ndarray(yuv, format="yuv420p")


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)
