"""The video encoder for an output: the one a config names, or the one its container is made for."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

import av.error
from av.codec import Codec

from veil.errors import ConfigError
from veil.video.settings import EncoderConfig

__all__ = [
    "CONTAINER_AUDIO_CODECS",
    "CONTAINER_VIDEO_CODECS",
    "audio_encoder_rate",
    "encoder_options",
    "find_encoder",
]

_log = logging.getLogger(__name__)

_X26X = frozenset({"libx264", "libx264rgb", "libx265"})

_DEFAULT_VIDEO_CODEC = "libx264"

CONTAINER_VIDEO_CODECS: Mapping[str, str] = MappingProxyType({"hevc": "libx265", "webm": "libvpx-vp9"})
"""FFmpeg muxer → the encoder its files are written with when the config names none (else H.264)."""

CONTAINER_AUDIO_CODECS: Mapping[str, str] = MappingProxyType(
    {"mp4": "aac", "mov": "aac", "mpegts": "aac", "matroska": "aac", "avi": "libmp3lame", "webm": "libopus"}
)
"""FFmpeg muxer → the audio encoder for source audio it cannot hold as it is (raw streams hold none)."""


def find_encoder(encoder: EncoderConfig, output_format: str | None = None) -> Codec:
    """Return the FFmpeg encoder named by ``encoder.codec``, or the one ``output_format`` is made for.

    Raises:
        ConfigError: this FFmpeg build has no such encoder.
    """
    name = encoder.codec or CONTAINER_VIDEO_CODECS.get(output_format or "", _DEFAULT_VIDEO_CODEC)
    try:
        return Codec(name, "w")
    except (ValueError, av.error.FFmpegError):
        raise ConfigError(f"video encoder {name!r} is not available in this FFmpeg build") from None


def audio_encoder_rate(name: str, source_rate: int) -> int:
    """Return the sample rate nearest ``source_rate`` that audio encoder ``name`` takes (Opus: 48 kHz)."""
    rates = Codec(name, "w").audio_rates
    if not rates or source_rate in rates:
        return source_rate
    higher = [rate for rate in rates if rate >= source_rate]
    return min(higher) if higher else max(rates)


def encoder_options(encoder: EncoderConfig, codec: Codec, *, low_latency: bool = False) -> dict[str, str]:
    """Translate the encoder config into the options the chosen FFmpeg encoder understands.

    ``low_latency`` tunes x264/x265 for live output: no lookahead, no B-frames, a frame in, its packet out.
    """
    if codec.name in _X26X:
        options = {"crf": str(encoder.crf), "preset": encoder.preset}
        if codec.name == "libx265":
            # x265 prints its settings to stderr itself, past FFmpeg's log level: keep it to errors.
            options["x265-params"] = "log-level=error"
        return options | {"tune": "zerolatency"} if low_latency else options
    if codec.name.startswith("libvpx"):
        # libvpx's default "good" deadline encodes a few frames per second; realtime keeps pace.
        return {"crf": str(encoder.crf), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    if codec.name in ("libaom-av1", "libsvtav1"):
        return {"crf": str(encoder.crf), "b": "0"}
    _log.info("encoder %s: crf and preset do not apply; using its defaults", codec.name)
    return {}
