"""Copy a source's audio, subtitle and data packets into an output, untouched and in time order."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream

from veil.errors import UnreadableMediaError
from veil.video.metadata import clean_metadata

__all__ = ["SideStreams"]

_log = logging.getLogger(__name__)


def _packet_time(packet: Packet[Stream]) -> Fraction | None:
    ts = packet.dts if packet.dts is not None else packet.pts
    if ts is None:
        return None
    return ts * packet.time_base


class SideStreams:
    """The source's non-video streams, remuxed into ``output`` without re-encoding.

    A second demuxer on the source feeds the packets, so they keep their exact bytes and timestamps
    while the video is decoded and re-encoded elsewhere. Streams the output container cannot hold are
    left out (and logged).

    Args:
        source: the original media file.
        output: the container being written; streams are added to it here, before its header.
        keep_audio: copy audio and subtitle streams.
        strip_location: also leave out data streams: they carry camera telemetry such as GPS tracks
            (GoPro GPMF, CAMM), and their tags lose location keys.
    """

    def __init__(
        self, source: Path, output: OutputContainer, *, keep_audio: bool, strip_location: bool
    ) -> None:
        self._input: InputContainer | None = None
        self._mapping: dict[int, Stream] = {}
        self._packets: Iterator[Packet[Stream]] = iter(())
        self._pending: Packet[Stream] | None = None
        self.copied: dict[int, int] = {}
        """Packets copied so far, by source stream index."""
        if not keep_audio and strip_location:
            return
        try:
            self._input = av.open(str(source), "r")
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"{source}: cannot reopen to copy audio ({exc.strerror})") from exc
        wanted = self._wanted_streams(self._input, keep_audio=keep_audio, strip_location=strip_location)
        for stream in wanted:
            try:
                copy = output.add_stream_from_template(stream)
            except (ValueError, av.error.FFmpegError) as exc:
                _log.warning("%s: not copying %s stream #%d: %s", source, stream.type, stream.index, exc)
                continue
            copy.metadata.update(clean_metadata(stream.metadata, strip_location=strip_location))
            self._mapping[stream.index] = copy
            self.copied[stream.index] = 0
        if self._mapping:
            chosen = [s for s in self._input.streams if s.index in self._mapping]
            self._packets = self._input.demux(chosen)
        else:
            self.close()

    @staticmethod
    def _wanted_streams(container: InputContainer, *, keep_audio: bool, strip_location: bool) -> list[Stream]:
        streams = container.streams
        wanted: list[Stream] = []
        if keep_audio:
            wanted += [*streams.audio, *streams.subtitles]
        if not strip_location:
            wanted += list(streams.data)
        elif streams.data:
            _log.info("leaving out %d data stream(s): they may carry GPS telemetry", len(streams.data))
        return sorted(wanted, key=lambda s: s.index)

    @property
    def stream_count(self) -> int:
        """How many streams are being copied."""
        return len(self._mapping)

    def mux_until(self, output: OutputContainer, time_s: Fraction | None) -> None:
        """Copy every pending packet that starts at or before ``time_s`` seconds (None: all the rest)."""
        while True:
            packet = self._pending if self._pending is not None else self._next_packet()
            self._pending = None
            if packet is None:
                return
            if packet.size == 0:  # end-of-stream marker from the demuxer, nothing to copy
                continue
            when = _packet_time(packet)
            if time_s is not None and when is not None and when > time_s:
                self._pending = packet
                return
            source_index = packet.stream.index
            packet.stream = self._mapping[source_index]
            output.mux(packet)
            self.copied[source_index] += 1

    def _next_packet(self) -> Packet[Stream] | None:
        try:
            return next(self._packets, None)
        except av.error.FFmpegError as exc:
            name = self._input.name if self._input is not None else "source"
            raise UnreadableMediaError(
                f"{name}: reading audio/subtitle packets failed ({exc.strerror})"
            ) from exc

    def close(self) -> None:
        """Release the second demuxer."""
        self._packets = iter(())
        self._pending = None
        if self._input is not None:
            self._input.close()
            self._input = None
