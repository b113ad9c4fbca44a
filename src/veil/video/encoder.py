"""The video encoder a config names: found in this FFmpeg build, with the options it understands."""

from __future__ import annotations

import logging

import av.error
from av.codec import Codec

from veil.errors import ConfigError
from veil.pipeline.config import EncoderConfig

__all__ = ["encoder_options", "find_encoder"]

_log = logging.getLogger(__name__)

_X26X = frozenset({"libx264", "libx264rgb", "libx265"})


def find_encoder(encoder: EncoderConfig) -> Codec:
    """Return the FFmpeg encoder named by ``encoder.codec``.

    Raises:
        ConfigError: this FFmpeg build has no such encoder.
    """
    try:
        return Codec(encoder.codec, "w")
    except (ValueError, av.error.FFmpegError):
        raise ConfigError(f"video encoder {encoder.codec!r} is not available in this FFmpeg build") from None


def encoder_options(encoder: EncoderConfig, *, low_latency: bool = False) -> dict[str, str]:
    """Translate the encoder config into the options the chosen FFmpeg encoder understands.

    ``low_latency`` tunes x264/x265 for live output: no lookahead, no B-frames, a frame in, its packet out.
    """
    if encoder.codec in _X26X:
        options = {"crf": str(encoder.crf), "preset": encoder.preset}
        return options | {"tune": "zerolatency"} if low_latency else options
    if encoder.codec.startswith("libvpx") or encoder.codec in ("libaom-av1", "libsvtav1"):
        return {"crf": str(encoder.crf), "b": "0"}
    _log.info("encoder %s: crf and preset do not apply; using its defaults", encoder.codec)
    return {}
