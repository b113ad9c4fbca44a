"""Tell what a live SOURCE or DEST string names and how FFmpeg should open it."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit, urlunsplit

import av

from veil.errors import ConfigError, OutputError
from veil.video.writer import OUTPUT_FORMATS

__all__ = ["Destination", "Source", "SourceKind", "parse_destination", "parse_source", "redact"]


class SourceKind(enum.Enum):
    """Where live frames come from."""

    DEVICE = "device"  # a V4L2 camera
    NETWORK = "network"  # rtsp, udp, tcp, http(s), rtmp, srt
    FILE = "file"  # a recorded file, optionally paced in real time


@dataclass(frozen=True)
class Source:
    """A source ready for ``av.open``: the URL or path, the demuxer (``None``: probe) and its options."""

    url: str
    kind: SourceKind
    format: str | None
    options: Mapping[str, str]

    @property
    def label(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return redact(self.url)


@dataclass(frozen=True)
class Destination:
    """Where anonymized frames go: a file (published on success) or a network URL, and its muxer."""

    url: str
    format: str
    path: Path | None  # set for files

    @property
    def is_file(self) -> bool:
        """Whether the destination is a file on disk."""
        return self.path is not None

    @property
    def label(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return redact(self.url)


# Probing 5 s of a live stream (FFmpeg's default) delays the first frame by as much; 1 s finds H.264 in TS.
_PROBE = MappingProxyType({"probesize": "1000000", "analyzeduration": "1000000"})

# Scheme → extra demuxer/protocol options. RTSP over TCP: RTP over UDP loses packets and so frames.
_NETWORK_SOURCES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "rtsp": MappingProxyType({**_PROBE, "rtsp_transport": "tcp"}),
        "rtsps": MappingProxyType({**_PROBE, "rtsp_transport": "tcp"}),
        "udp": _PROBE,
        "tcp": _PROBE,
        "http": _PROBE,
        "https": _PROBE,
        "rtmp": _PROBE,
        "srt": _PROBE,
    }
)

# Scheme → muxer. MPEG-TS carries its own timing and survives joining mid-stream.
_NETWORK_DESTINATIONS: Mapping[str, str] = MappingProxyType(
    {"udp": "mpegts", "tcp": "mpegts", "srt": "mpegts", "rtp": "rtp_mpegts", "rtmp": "flv", "rtsp": "rtsp"}
)

_DEVICE_PREFIX = "v4l2:"
_DEVICE_PATH = re.compile(r"^/dev/video\d+$")
_V4L2 = "video4linux2"


def redact(url: str) -> str:
    """Return ``url`` with the password of its user part replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.scheme or parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _scheme(text: str) -> str:
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", text)
    return match.group(1).lower() if match else ""


def parse_source(text: str, extra_options: Mapping[str, str] | None = None) -> Source:
    """Return the source ``text`` names: ``/dev/videoN`` or ``v4l2:PATH``, a network URL, or a file.

    ``extra_options`` are added to (and override) Veil's defaults for that kind of source.

    Raises:
        ConfigError: the URL scheme is not one Veil reads, or this FFmpeg build lacks V4L2.
    """
    extra = dict(extra_options or {})
    if text.startswith(_DEVICE_PREFIX) or _DEVICE_PATH.match(text):
        if not any(_V4L2 in name.split(",") for name in av.formats_available):
            raise ConfigError(f"{text}: this FFmpeg build has no video4linux2 input for cameras")
        device = text.removeprefix(_DEVICE_PREFIX)
        return Source(device, SourceKind.DEVICE, _V4L2, MappingProxyType(extra))
    scheme = _scheme(text)
    if scheme == "file":
        return Source(urlsplit(text).path, SourceKind.FILE, None, MappingProxyType(extra))
    if not scheme:
        return Source(text, SourceKind.FILE, None, MappingProxyType(extra))
    if scheme not in _NETWORK_SOURCES:
        valid = ", ".join(f"{s}://" for s in _NETWORK_SOURCES)
        raise ConfigError(
            f"{redact(text)}: cannot read {scheme}:// streams; use {valid}, /dev/videoN, v4l2:PATH or a file"
        )
    options = {**_NETWORK_SOURCES[scheme], **extra}
    return Source(text, SourceKind.NETWORK, None, MappingProxyType(options))


def parse_destination(text: str) -> Destination:
    """Return the destination ``text`` names: a network URL (MPEG-TS for udp/tcp/srt) or a video file.

    Raises:
        ConfigError: the URL scheme is not one Veil writes, or its muxer is missing from FFmpeg.
        OutputError: a file destination has a suffix that is not a video container.
    """
    scheme = _scheme(text)
    if not scheme or scheme == "file":
        path = Path(urlsplit(text).path if scheme else text)
        try:
            fmt = OUTPUT_FORMATS[path.suffix.lower()]
        except KeyError:
            valid = ", ".join(OUTPUT_FORMATS)
            raise OutputError(
                f"cannot write {path}: unsupported video suffix {path.suffix!r}; use one of {valid} "
                "(.ts or .mkv stay readable if the stream is cut off)"
            ) from None
        return Destination(str(path), fmt, path)
    if scheme not in _NETWORK_DESTINATIONS:
        valid = ", ".join(f"{s}://" for s in _NETWORK_DESTINATIONS)
        raise ConfigError(f"{redact(text)}: cannot send to {scheme}:// ; use {valid} or a file path")
    fmt = _NETWORK_DESTINATIONS[scheme]
    if fmt not in av.formats_available:
        raise ConfigError(f"{redact(text)}: this FFmpeg build has no {fmt} muxer")
    return Destination(text, fmt, None)
