"""Check an upload before any work starts: it must be an image or a video within the size limits."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from veil.service.settings import Limits

__all__ = ["MediaFacts", "RejectedMediaError", "VideoScan", "check_media", "media_suffix", "scan_video"]

_VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".ts", ".h264"})
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
# FFmpeg demuxers that turn text or raw bytes into "video": never camera footage.
_NOT_FOOTAGE = frozenset({"tty", "bin", "xbin", "adf", "idf", "data", "lavfi"})


class RejectedMediaError(Exception):
    """The upload is not acceptable media; ``status`` is 413 for limits, 415 or 422 otherwise."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class MediaFacts:
    """What the probe found."""

    kind: str  # "image" or "video"
    width: int
    height: int
    duration_s: float | None
    format_name: str


def media_suffix(filename: str, kind: str) -> str:
    """Return the suffix the stored input is given: the client's when it is a known one, else a default."""
    suffix = Path(filename).suffix.lower()
    allowed = _IMAGE_SUFFIXES if kind == "image" else _VIDEO_SUFFIXES
    if suffix in allowed:
        return suffix
    return ".png" if kind == "image" else ".mp4"


def _check_size(width: int, height: int, limits: Limits, what: str = "the frame size is") -> None:
    if width <= 0 or height <= 0:
        raise RejectedMediaError(422, f"{what} {width}×{height}: empty")
    long_side, short_side = max(width, height), min(width, height)
    if long_side > max(limits.max_width_px, limits.max_height_px) or short_side > min(
        limits.max_width_px, limits.max_height_px
    ):
        raise RejectedMediaError(
            413, f"{what} {width}×{height}, over the limit of {limits.max_width_px}×{limits.max_height_px}"
        )


def _probe_image(path: Path, limits: Limits) -> MediaFacts | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as image:
                width, height = image.size
                fmt = image.format or "image"
                if getattr(image, "n_frames", 1) > 1:
                    return None  # an animation: judged as video
    except PILImage.DecompressionBombError:
        raise RejectedMediaError(413, "the image has more pixels than any accepted size") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    _check_size(width, height, limits)
    return MediaFacts("image", width, height, None, fmt.lower())


def _probe_video(path: Path, limits: Limits) -> MediaFacts:
    try:
        with av.open(str(path), "r") as container:
            fmt = container.format.name
            if fmt in _NOT_FOOTAGE:
                raise RejectedMediaError(
                    415, f"the upload is {container.format.long_name}, not an image or video"
                )
            streams = [
                s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
            ]
            if not streams:
                raise RejectedMediaError(415, "the upload has no video stream")
            stream = streams[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = None
            if container.duration is not None:
                duration = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
    except av.error.FFmpegError as exc:
        raise RejectedMediaError(
            415, f"the upload is not an image or video FFmpeg can read ({exc.strerror})"
        ) from None
    _check_size(width, height, limits)
    if duration is not None and duration > limits.max_duration_s:
        raise RejectedMediaError(
            413, f"the video lasts {duration:.1f} s; the limit is {limits.max_duration_s:.0f} s"
        )
    return MediaFacts("video", width, height, duration, fmt)


@dataclass(frozen=True)
class VideoScan:
    """What decoding every frame found."""

    frames: int
    duration_s: float


def scan_video(path: Path, limits: Limits, each_frame: Callable[[int], None] | None = None) -> VideoScan:
    """Decode every frame of ``path``'s video, refusing the first frame past a limit.

    The probe at submission sees the container's claims and the first frame only; a raw stream has no
    duration and a stream may change its frame size part way. Here each frame's size is checked and the
    duration is the last frame's time: its timestamp, or its index over the frame rate when the stream
    has no timestamps. ``each_frame(index)`` is called per frame (to notice cancellation).

    Raises:
        RejectedMediaError: a frame over a size limit or past the duration limit (413), or undecodable.
    """
    frames, last_s = 0, 0.0
    try:
        with av.open(str(path), "r") as container:
            streams = [
                s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
            ]
            if not streams:
                raise RejectedMediaError(415, "the upload has no video stream")
            stream = streams[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            first_pts: int | None = None
            for frame in container.decode(stream):
                _check_size(frame.width, frame.height, limits, f"frame {frames} is")
                frames += 1
                if frame.pts is not None and frame.time_base is not None:
                    first_pts = frame.pts if first_pts is None else first_pts
                    last_s = max(last_s, float((frame.pts - first_pts) * frame.time_base))
                # By count as well as by timestamps: a stream's timestamps need not advance at all.
                seconds = max(last_s, float(frames / rate))
                if seconds > limits.max_duration_s:
                    raise RejectedMediaError(
                        413,
                        f"the video lasts more than the limit of {limits.max_duration_s:.0f} s "
                        f"(by frame {frames - 1}: {seconds:.1f} s)",
                    )
                if each_frame is not None:
                    each_frame(frames)
    except av.error.FFmpegError as exc:
        raise RejectedMediaError(415, f"the video cannot be decoded ({exc.strerror})") from None
    if frames == 0:
        raise RejectedMediaError(415, "the video has no frame that decodes")
    return VideoScan(frames, max(last_s, float(frames / rate)))


def check_media(path: Path, limits: Limits) -> MediaFacts:
    """Return what ``path`` holds, or raise RejectedMediaError naming why it is refused."""
    if path.stat().st_size == 0:
        raise RejectedMediaError(422, "the upload is empty")
    facts = _probe_image(path, limits)
    return facts if facts is not None else _probe_video(path, limits)
