"""Tell images from videos by their content, not their file name."""

from __future__ import annotations

import enum
import logging
import warnings
from pathlib import Path

import av
import av.error
from av.stream import Disposition
from av.video.stream import VideoStream
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from veil.errors import UnreadableMediaError

__all__ = [
    "MEDIA_SUFFIXES",
    "MediaKind",
    "check_readable_file",
    "is_cover_art",
    "looks_like_media",
    "probe_media",
]

_log = logging.getLogger(__name__)

# Pillow opens these, but a sequence of frames in them is an animation that FFmpeg decodes as video.
_ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP"})

# FFmpeg demuxers that render text files (ANSI/binary text art) as video: never camera footage.
_TEXT_ART_FORMATS = frozenset({"tty", "bin", "xbin", "adf", "idf"})


MEDIA_SUFFIXES = frozenset(
    {
        *(".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"),
        *(".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg"),
        *(".wmv", ".flv", ".3gp", ".mjpeg", ".mjpg", ".h264", ".264", ".h265", ".265", ".hevc"),
    }
)
"""Suffixes of image and video files: a file named so that cannot be read is a failure, not a stray."""


# Leading bytes of image and video files, with their offset: a file starting so that cannot be read is
# damaged media whatever its name. Two-byte and text-like signatures (BMP's "BM") are left out, so a
# notes file is never taken for a broken picture.
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"II*\x00"),  # TIFF, little-endian
    (0, b"MM\x00*"),  # TIFF, big-endian
    (0, b"RIFF"),  # AVI, WebP (and WAV: then probe_media says "no video stream")
    (4, b"ftyp"),  # MP4, MOV, 3GP, HEIF
    (4, b"moov"),  # old QuickTime
    (4, b"mdat"),
    (0, b"\x1aE\xdf\xa3"),  # Matroska, WebM
    (0, b"\x00\x00\x01\xba"),  # MPEG program stream
    (0, b"\x00\x00\x00\x01"),  # raw H.264 / H.265 (Annex B start code)
    (0, b"FLV\x01"),
    (0, b"0&\xb2u\x8ef\xcf\x11"),  # ASF / WMV
)
_SNIFF_BYTES = 16


def _starts_like_media(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    if head[:1] == b"\x47" and _is_transport_stream(path):
        return True
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _SIGNATURES)


def _is_transport_stream(path: Path) -> bool:
    """MPEG-TS: a 0x47 sync byte at the start of each of the first three 188-byte packets."""
    try:
        with path.open("rb") as fh:
            head = fh.read(3 * 188)
    except OSError:
        return False
    return len(head) > 2 * 188 and all(head[i] == 0x47 for i in (0, 188, 376))


def looks_like_media(path: Path) -> bool:
    """Return whether ``path``'s name or first bytes say it is an image or a video.

    Used to tell damaged media (a failure to report) from other files (notes, sidecar JSON) once
    :func:`probe_media` could not read it.
    """
    return path.suffix.lower() in MEDIA_SUFFIXES or _starts_like_media(path)


class MediaKind(enum.Enum):
    """Whether a file holds one still picture or a sequence of frames."""

    IMAGE = "image"
    VIDEO = "video"


def check_readable_file(path: Path) -> None:
    """Raise UnreadableMediaError unless ``path`` is an existing, non-empty regular file."""
    if not path.exists():
        raise UnreadableMediaError(f"{path}: no such file")
    if path.is_dir():
        raise UnreadableMediaError(f"{path}: is a directory, not a media file")
    if not path.is_file():
        raise UnreadableMediaError(f"{path}: is not a regular file")
    if path.stat().st_size == 0:
        raise UnreadableMediaError(f"{path}: is empty (0 bytes)")


def _pillow_kind(path: Path) -> MediaKind | None:
    """Return IMAGE (or VIDEO for animations) when Pillow recognises the file, else None."""
    try:
        with warnings.catch_warnings():
            # A huge image is still an image; load_image refuses it with a clear error later.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as image:
                animated = image.format in _ANIMATED_FORMATS and getattr(image, "n_frames", 1) > 1
    except PILImage.DecompressionBombError:
        return MediaKind.IMAGE
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        # Pillow's plugins raise SyntaxError and ValueError on malformed headers.
        return None
    return MediaKind.VIDEO if animated and _has_video_stream(path) else MediaKind.IMAGE


def _has_video_stream(path: Path) -> bool:
    try:
        with av.open(str(path), "r") as container:
            return any(not is_cover_art(stream) for stream in container.streams.video)
    except av.error.FFmpegError:
        return False


def is_cover_art(stream: VideoStream) -> bool:
    """Return whether ``stream`` is an attached picture (album art), not a moving picture."""
    return bool(stream.disposition & Disposition.attached_pic)


def probe_media(path: Path) -> MediaKind:
    """Return whether ``path`` is an image or a video, judged by its content.

    Raises:
        UnreadableMediaError: the path is missing, a directory, empty, or neither an image nor a video.
    """
    path = Path(path)
    check_readable_file(path)
    kind = _pillow_kind(path)
    if kind is not None:
        return kind
    try:
        with av.open(str(path), "r") as container:
            if container.format.name in _TEXT_ART_FORMATS:
                raise UnreadableMediaError(
                    f"{path}: is a text file ({container.format.long_name}), not media"
                )
            streams = container.streams
            if any(not is_cover_art(stream) for stream in streams.video):
                return MediaKind.VIDEO
            found = ", ".join(sorted({stream.type for stream in streams})) or "no streams"
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(f"{path}: not an image or video FFmpeg can read ({exc.strerror})") from exc
    raise UnreadableMediaError(f"{path}: has no video stream ({found})")
