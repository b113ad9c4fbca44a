"""How anonymized media is written: the encoder, and what every output keeps or refuses."""

from __future__ import annotations

from dataclasses import dataclass, field

from veil.checks import check_range

__all__ = ["EncoderConfig", "OutputSettings"]


@dataclass(frozen=True)
class EncoderConfig:
    """Video encoder settings for anonymized output.

    Args:
        codec: FFmpeg encoder name; None picks the output container's own (H.264, or H.265 for raw
            ``.h265``/``.hevc`` streams, VP9 for WebM).
        crf: constant rate factor (lower is better quality, bigger files).
        preset: x264/x265 speed preset.
    """

    codec: str | None = None
    crf: int = 20
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        check_range("crf", self.crf, 0, 51)


@dataclass(frozen=True)
class OutputSettings:
    """What every run that writes video shares, whichever pipeline made the pictures.

    Args:
        encoder: video encoder of the output.
        keep_audio: copy audio and other streams the container accepts.
        strip_location: remove GPS / location metadata (images: GPS EXIF and device serials).
        max_pixels: frames larger than this (width × height) are refused.
    """

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    keep_audio: bool = True
    strip_location: bool = True
    max_pixels: int = 8192 * 8192

    def __post_init__(self) -> None:
        check_range("max_pixels", self.max_pixels, 1, 2**31)
