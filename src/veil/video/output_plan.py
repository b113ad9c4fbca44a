"""Decide, before any frame is decoded, what an output file will hold and how: codec, audio, subtitles.

FFmpeg refuses some codecs in some containers only when the file's header is written, which for a
video is after the first frame has been encoded. :func:`plan_output` writes the header of the real
combination into memory first, so a refusal is an error before the run (or a re-encode, or a stream
left out with a warning), never a crash after it has started.
"""

from __future__ import annotations

import enum
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import av
import av.error
from av.codec import Codec
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from veil.errors import ConfigError, OutputError, UnreadableMediaError
from veil.video.encoder import CONTAINER_AUDIO_CODECS, audio_encoder_rate, encoder_options, find_encoder
from veil.video.settings import EncoderConfig

__all__ = ["OUTPUT_FORMATS", "OutputPlan", "SideAction", "SideStreamPlan", "output_format", "plan_output"]

_log = logging.getLogger(__name__)

OUTPUT_FORMATS = MappingProxyType(
    {
        ".mp4": "mp4",
        ".m4v": "mp4",
        ".mov": "mov",
        ".mkv": "matroska",
        ".webm": "webm",
        ".avi": "avi",
        ".ts": "mpegts",
        ".h264": "h264",
        ".264": "h264",
        ".h265": "hevc",
        ".hevc": "hevc",
    }
)
"""Output file suffix → FFmpeg muxer."""

RAW_FORMATS = frozenset({"h264", "hevc"})
"""Muxers of bare elementary streams: no timestamps, no audio, no tags."""

# Codecs a muxer takes but stores so that they do not read back right: re-encoded, never copied.
# FFmpeg's AVI muxer gives variable-size AAC frames byte-counted times; MPEG-TS has no stream type
# for plain PCM, so demuxers drop it.
_COPY_UNREADABLE = MappingProxyType({"avi": ("aac",), "mpegts": ("pcm_",)})

_TRIAL_SIZE = 64  # a frame size every encoder opens with, for the header trial


class SideAction(enum.Enum):
    """What happens to one of the source's non-video streams."""

    COPY = "copy"
    TRANSCODE = "transcode"
    DROP = "drop"


@dataclass(frozen=True)
class SideStreamPlan:
    """One source stream (by index) and what the output does with it."""

    index: int
    kind: str
    codec: str
    action: SideAction
    encoder: str | None = None
    """The audio encoder, for :attr:`SideAction.TRANSCODE`."""


@dataclass(frozen=True)
class OutputPlan:
    """What an output file will be: its muxer, video encoder and the fate of each side stream."""

    format: str
    codec: Codec
    side_streams: tuple[SideStreamPlan, ...]
    notes: tuple[str, ...]
    """What the user should know before the run (streams re-encoded or left out, and why)."""

    @property
    def copied(self) -> tuple[SideStreamPlan, ...]:
        """The side streams that go into the output, copied or re-encoded."""
        return tuple(s for s in self.side_streams if s.action is not SideAction.DROP)


def output_format(dst: Path) -> str:
    """Return the FFmpeg muxer for ``dst``'s suffix.

    Raises:
        OutputError: the suffix is not a video container Veil writes.
    """
    try:
        return OUTPUT_FORMATS[dst.suffix.lower()]
    except KeyError:
        valid = ", ".join(OUTPUT_FORMATS)
        raise OutputError(
            f"cannot write {dst}: unsupported video suffix {dst.suffix!r}; use one of {valid}"
        ) from None


def _wanted(container: InputContainer, *, keep_audio: bool, strip_location: bool) -> list[Stream]:
    streams = container.streams
    wanted: list[Stream] = []
    if keep_audio:
        wanted += [*streams.audio, *streams.subtitles]
    if not strip_location:
        wanted += list(streams.data)
    elif streams.data:
        _log.info("leaving out %d data stream(s): they may carry GPS telemetry", len(streams.data))
    return sorted(wanted, key=lambda s: s.index)


def _add_video(out: OutputContainer, codec: Codec, encoder: EncoderConfig) -> None:
    stream = out.add_stream(codec.name, rate=25, options=encoder_options(encoder, codec))
    stream.width = stream.height = _TRIAL_SIZE  # type: ignore[union-attr]
    stream.pix_fmt = "yuv420p"  # type: ignore[union-attr]
    stream.codec_context.time_base = Fraction(1, 25)


def _add_audio_encoder(out: OutputContainer, name: str, template: Stream) -> None:
    rate = getattr(template.codec_context, "sample_rate", 0) or 48000
    out.add_stream(name, rate=audio_encoder_rate(name, rate))


def _header_writes(
    fmt: str,
    codec: Codec,
    encoder: EncoderConfig,
    sides: Sequence[tuple[Stream, SideAction, str | None]],
) -> str | None:
    """Write the header of this combination into memory; return FFmpeg's refusal, or None."""
    buffer = io.BytesIO()
    try:
        with av.open(buffer, "w", format=fmt) as out:
            _add_video(out, codec, encoder)
            for stream, action, name in sides:
                if action is SideAction.COPY:
                    copy = out.add_stream_from_template(stream)
                    copy.codec_tag = "\0\0\0\0"  # let the muxer choose its own tag for the codec
                elif name is not None:
                    _add_audio_encoder(out, name, stream)
            out.start_encoding()
    except (ValueError, av.error.FFmpegError) as exc:
        return str(getattr(exc, "strerror", None) or exc)
    return None


def _codec_name(stream: Stream) -> str:
    return stream.codec_context.name if stream.codec_context is not None else "unknown"


def _plan_side_streams(
    dst: Path, fmt: str, codec: Codec, encoder: EncoderConfig, streams: Sequence[Stream]
) -> tuple[list[SideStreamPlan], list[str]]:
    """Try each side stream as a copy, then (audio) re-encoded; return the decisions and the notes."""
    accepted: list[tuple[Stream, SideAction, str | None]] = []
    plans: list[SideStreamPlan] = []
    notes: list[str] = []
    for stream in streams:
        name = _codec_name(stream)
        what = f"{stream.type} stream #{stream.index} ({name})"
        if fmt in RAW_FORMATS:
            plans.append(SideStreamPlan(stream.index, stream.type, name, SideAction.DROP))
            notes.append(f"{what} is left out: a raw {dst.suffix} video stream cannot carry it")
            continue
        copyable = not name.startswith(_COPY_UNREADABLE.get(fmt, ()))
        if (
            copyable
            and _header_writes(fmt, codec, encoder, [*accepted, (stream, SideAction.COPY, None)]) is None
        ):
            accepted.append((stream, SideAction.COPY, None))
            plans.append(SideStreamPlan(stream.index, stream.type, name, SideAction.COPY))
            continue
        target = CONTAINER_AUDIO_CODECS.get(fmt) if stream.type == "audio" else None
        if target is not None and (
            _header_writes(fmt, codec, encoder, [*accepted, (stream, SideAction.TRANSCODE, target)]) is None
        ):
            accepted.append((stream, SideAction.TRANSCODE, target))
            plans.append(SideStreamPlan(stream.index, stream.type, name, SideAction.TRANSCODE, target))
            notes.append(f"{what} is re-encoded as {target}: a {dst.suffix} file cannot hold it as it is")
            continue
        plans.append(SideStreamPlan(stream.index, stream.type, name, SideAction.DROP))
        notes.append(f"{what} is left out: a {dst.suffix} file cannot hold it")
    return plans, notes


def plan_output(
    dst: Path,
    source: Path,
    encoder: EncoderConfig,
    *,
    keep_audio: bool = True,
    strip_location: bool = True,
) -> OutputPlan:
    """Return what ``dst`` will hold when ``source`` is anonymized into it, trying each choice first.

    The video encoder is the configured one, or the container's own. Each audio, subtitle (and, when
    location is kept, data) stream is copied where the container takes it; audio it cannot hold is
    re-encoded with the container's audio encoder; what neither works for is left out. Every such
    decision is in :attr:`OutputPlan.notes`.

    Raises:
        OutputError: ``dst``'s suffix is not a video container.
        ConfigError: the encoder is missing, or the container cannot hold its video.
        UnreadableMediaError: ``source`` cannot be opened.
    """
    fmt = output_format(dst)
    codec = find_encoder(encoder, fmt)
    refusal = _header_writes(fmt, codec, encoder, [])
    if refusal is not None:
        raise ConfigError(
            f"cannot write {dst.name}: a {dst.suffix} file cannot hold {codec.name} video ({refusal}); "
            "choose another --codec or output suffix"
        )
    try:
        container = av.open(str(source), "r")
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(f"{source}: cannot reopen to plan its output ({exc.strerror})") from exc
    with container:  # its streams are only valid while it is open
        plans, notes = _plan_side_streams(
            dst, fmt, codec, encoder, _wanted(container, keep_audio=keep_audio, strip_location=strip_location)
        )
    return OutputPlan(format=fmt, codec=codec, side_streams=tuple(plans), notes=tuple(notes))
