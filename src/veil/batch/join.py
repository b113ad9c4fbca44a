"""Join encoded segments into one video without re-encoding, remux the source's audio once, and verify.

Every segment was encoded with the same encoder settings from the same source, so its packets carry
the source's own timestamps and one set of codec parameters: copied one after the other, they are one
stream. The source's audio, subtitles and tags are carried once, over the whole length, by the same
:class:`~veil.video.remux.SideStreams` a one-pass run uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.video.stream import VideoStream

from veil.errors import MediaError, OutputError
from veil.video.atomic import check_output, discard, partial_path, publish
from veil.video.metadata import clean_metadata
from veil.video.output_plan import OutputPlan
from veil.video.probe import is_cover_art
from veil.video.remux import SideStreams

__all__ = ["join_segments", "verify_video"]


def _video_stream(container: av.container.InputContainer, path: Path) -> VideoStream:
    streams = [s for s in container.streams.video if not is_cover_art(s)]
    if not streams:
        raise MediaError(f"{path}: has no video stream")
    return streams[0]


def verify_video(path: Path, expected: Sequence[Fraction] | int, *, tolerance_s: Fraction) -> None:
    """Check that ``path`` holds one video frame at each of the ``expected`` times (seconds), and no other.

    Reads packets only. ``tolerance_s`` allows for a container that stores coarser ticks than the
    source. An ``expected`` count instead of times checks the count only (containers without times).

    Raises:
        MediaError: the file is unreadable, or its frame count or a timestamp differs.
    """
    try:
        container = av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot be read back ({exc.strerror})") from exc
    with container:
        stream = _video_stream(container, path)
        try:
            packets = [(p.pts, p.time_base) for p in container.demux(stream) if p.size]
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: cannot be read back ({exc.strerror})") from exc
    count = expected if isinstance(expected, int) else len(expected)
    if len(packets) != count:
        raise MediaError(f"{path}: holds {len(packets)} frames, expected {count}")
    if isinstance(expected, int) or not packets:
        return
    if any(pts is None for pts, _ in packets):
        raise MediaError(f"{path}: a frame has no timestamp")
    stamps = sorted(pts * time_base for pts, time_base in packets if pts is not None)
    times_s = expected
    # A container may start its clock elsewhere (an edit list); what must hold is each frame's place.
    offset = stamps[0] - times_s[0]
    for i, (got, want) in enumerate(zip(stamps, times_s, strict=True)):
        if abs(got - offset - want) > tolerance_s:
            raise MediaError(f"{path}: frame {i} is at {float(got):.6f} s, expected {float(want):.6f} s")


def join_segments(
    parts: Sequence[Path],
    dst: Path,
    source: Path,
    plan: OutputPlan,
    *,
    strip_location: bool,
    rotation_deg: int,
) -> None:
    """Copy the video packets of ``parts``, in order, into ``dst``, with ``source``'s side streams and tags.

    Written to a partial file and published atomically.

    Raises:
        MediaError: the parts' codec parameters differ, or their timestamps overlap.
        OutputError: ``dst`` cannot be written.
    """
    check_output(dst, source)
    partial = partial_path(dst)
    try:
        with av.open(str(source), "r") as original:
            tags = clean_metadata(original.metadata, strip_location=strip_location)
            video_tags = clean_metadata(
                _video_stream(original, source).metadata, strip_location=strip_location
            )
        inputs = [av.open(str(p), "r") for p in parts]
    except av.error.FFmpegError as exc:
        raise MediaError(f"{dst}: cannot open a segment to join ({exc.strerror})") from exc
    try:
        _join(inputs, parts, partial, plan, source, tags, video_tags, strip_location, rotation_deg)
    except av.error.FFmpegError as exc:
        discard(partial)
        raise OutputError(f"{dst}: joining segments failed ({exc.strerror})") from exc
    except BaseException:
        discard(partial)
        raise
    finally:
        for container in inputs:
            container.close()
    publish(partial, dst)


def _join(
    inputs: Sequence[av.container.InputContainer],
    parts: Sequence[Path],
    partial: Path,
    plan: OutputPlan,
    source: Path,
    tags: dict[str, str],
    video_tags: dict[str, str],
    strip_location: bool,
    rotation_deg: int,
) -> None:
    streams = [_video_stream(c, p) for c, p in zip(inputs, parts, strict=True)]
    first = streams[0]
    for stream, path in zip(streams[1:], parts[1:], strict=True):
        if bytes(stream.codec_context.extradata or b"") != bytes(first.codec_context.extradata or b""):
            raise MediaError(f"{path}: its codec parameters differ from the first segment's; cannot join")
    with av.open(str(partial), "w", format=plan.format) as out:
        out.metadata.update(tags)
        video = out.add_stream_from_template(first)
        video.codec_tag = "\0\0\0\0"  # the muxer's own tag for the codec
        video.time_base = first.time_base
        video.metadata.update(video_tags)
        if rotation_deg and isinstance(video, VideoStream):
            video.set_display_rotation(rotation_deg)
        side = SideStreams(source, out, plan, strip_location=strip_location)
        last_dts: Fraction | None = None
        try:
            for container, stream, path in zip(inputs, streams, parts, strict=True):
                for packet in container.demux(stream):
                    if not packet.size:
                        continue
                    stamp = packet.dts if packet.dts is not None else packet.pts
                    if stamp is None:
                        raise MediaError(f"{path}: a packet has no timestamp; cannot join")
                    when = stamp * packet.time_base
                    if last_dts is not None and when <= last_dts:
                        raise MediaError(f"{path}: its timestamps overlap the segment before; cannot join")
                    last_dts = when
                    packet.stream = video
                    out.mux(packet)
                    side.mux_until(out, when)
            side.mux_until(out, None)
        finally:
            side.close()
