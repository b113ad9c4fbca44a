"""Carry a source's audio, subtitle and data streams into an output in time order, as an output plan says."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.layout import AudioLayout
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream

from veil.errors import UnreadableMediaError
from veil.video.encoder import audio_encoder_rate
from veil.video.metadata import clean_metadata
from veil.video.output_plan import OutputPlan, SideAction, SideStreamPlan

__all__ = ["SideStreams"]

_log = logging.getLogger(__name__)


def _packet_time(packet: Packet[Stream]) -> Fraction | None:
    ts = packet.dts if packet.dts is not None else packet.pts
    if ts is None:
        return None
    return ts * packet.time_base


class _AudioTranscoder:
    """Decode one source audio stream and encode it anew for a container that cannot hold it as is.

    Decoded frames keep their timestamps through the resampler, so the new stream starts and ends
    where the source's did.
    """

    def __init__(self, source: AudioStream, output: OutputContainer, encoder: str, start_s: Fraction) -> None:
        self._start_s = start_s
        rate = audio_encoder_rate(encoder, source.codec_context.sample_rate or 48000)
        self.stream: AudioStream = output.add_stream(encoder, rate=rate)  # type: ignore[assignment]
        channels = source.codec_context.layout.nb_channels if source.codec_context.layout else 0
        if 0 < channels <= 2:
            # The standard layout for the count: some containers leave the channel order unstated.
            self.stream.layout = AudioLayout("mono" if channels == 1 else "stereo")
        self._resampler: AudioResampler | None = None
        self._damaged = False

    def push(self, packet: Packet[Stream] | None, output: OutputContainer) -> None:
        """Re-encode ``packet`` (None: flush everything still buffered) and mux the result."""
        try:
            decoded = packet.decode() if packet is not None else []
        except av.error.FFmpegError as exc:
            # Damaged audio costs a moment of sound, not privacy: skip the packet, say so once.
            if not self._damaged:
                _log.warning("an audio packet does not decode (%s); skipping it", exc.strerror)
            self._damaged = True
            return
        frames: list[AudioFrame | None] = [f for f in decoded if isinstance(f, AudioFrame)]
        if packet is None:
            frames.append(None)
        for frame in frames:
            if frame is not None and self._start_s and frame.pts is not None and frame.time_base:
                frame.pts -= round(self._start_s / frame.time_base)
            if self._resampler is None:
                context = self.stream.codec_context
                self._resampler = AudioResampler(
                    format=context.format, layout=context.layout, rate=context.sample_rate,
                    frame_size=context.frame_size or None,
                )  # fmt: skip
            for resampled in self._resampler.resample(frame):
                output.mux(self.stream.encode(resampled))
        if packet is None:
            output.mux(self.stream.encode(None))


class SideStreams:
    """The source's non-video streams, copied untouched or re-encoded into ``output`` as ``plan`` says.

    A second demuxer on the source feeds the packets, so copied ones keep their exact bytes and
    timestamps while the video is decoded and re-encoded elsewhere.

    Args:
        source: the original media file.
        output: the container being written; streams are added to it here, before its header.
        plan: which streams to copy, re-encode or leave out (see :func:`plan_output`).
        strip_location: strip location keys from the copied streams' tags.
        start_s: source time that becomes the output's zero (containers that cannot start later); what
            begins before it is left out.
    """

    def __init__(
        self,
        source: Path,
        output: OutputContainer,
        plan: OutputPlan,
        *,
        strip_location: bool,
        start_s: Fraction = Fraction(0),
    ) -> None:
        self._start_s = start_s
        self._input: InputContainer | None = None
        self._copies: dict[int, Stream] = {}
        self._transcoders: dict[int, _AudioTranscoder] = {}
        self._packets: Iterator[Packet[Stream]] = iter(())
        self._pending: Packet[Stream] | None = None
        self.copied: dict[int, int] = {}
        """Packets taken from the source so far, by source stream index."""
        wanted = plan.copied
        if not wanted:
            return
        try:
            self._input = av.open(str(source), "r")
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"{source}: cannot reopen to copy audio ({exc.strerror})") from exc
        for side in wanted:
            self._add(self._input.streams[side.index], side, output, strip_location=strip_location)
        chosen = [s for s in self._input.streams if s.index in self.copied]
        self._packets = self._input.demux(chosen)

    def _add(
        self, stream: Stream, side: SideStreamPlan, output: OutputContainer, *, strip_location: bool
    ) -> None:
        if (
            side.action is SideAction.TRANSCODE
            and side.encoder is not None
            and isinstance(stream, AudioStream)
        ):
            transcoder = _AudioTranscoder(stream, output, side.encoder, self._start_s)
            added: Stream = transcoder.stream
            self._transcoders[stream.index] = transcoder
        else:
            added = output.add_stream_from_template(stream)
            added.codec_tag = "\0\0\0\0"  # the muxer's own tag for the codec, not the source container's
            self._copies[stream.index] = added
        added.metadata.update(clean_metadata(stream.metadata, strip_location=strip_location))
        self.copied[stream.index] = 0

    @property
    def stream_count(self) -> int:
        """How many streams are being carried."""
        return len(self.copied)

    def mux_until(self, output: OutputContainer, time_s: Fraction | None) -> None:
        """Carry every pending packet that starts at or before ``time_s`` seconds (None: all the rest)."""
        while True:
            packet = self._pending if self._pending is not None else self._next_packet()
            self._pending = None
            if packet is None:
                break
            if packet.size == 0:  # end-of-stream marker from the demuxer, nothing to copy
                continue
            when = _packet_time(packet)
            if time_s is not None and when is not None and when > time_s:
                self._pending = packet
                return
            if self._start_s and when is not None and when < self._start_s:
                continue  # before the output's zero: a slot container cannot hold it
            source_index = packet.stream.index
            transcoder = self._transcoders.get(source_index)
            if transcoder is not None:
                transcoder.push(packet, output)
            else:
                self._shift(packet)
                packet.stream = self._copies[source_index]
                output.mux(packet)
            self.copied[source_index] += 1
        if time_s is None:
            for transcoder in self._transcoders.values():
                transcoder.push(None, output)
            self._transcoders.clear()

    def _shift(self, packet: Packet[Stream]) -> None:
        if not self._start_s:
            return
        ticks = round(self._start_s / packet.time_base)
        if packet.pts is not None:
            packet.pts -= ticks
        if packet.dts is not None:
            packet.dts -= ticks

    def _next_packet(self) -> Packet[Stream] | None:
        try:
            return next(self._packets, None)
        except av.error.FFmpegError as exc:
            # The picture decides whether a damaged file is used at all (the reader refuses it unless
            # told otherwise); the sound then ends where the damage begins.
            name = self._input.name if self._input is not None else "source"
            _log.warning(
                "%s: reading audio/subtitle packets failed (%s); the rest is left out", name, exc.strerror
            )
            self._packets = iter(())
            return None

    def close(self) -> None:
        """Release the second demuxer."""
        self._packets = iter(())
        self._pending = None
        self._transcoders.clear()
        if self._input is not None:
            self._input.close()
            self._input = None
