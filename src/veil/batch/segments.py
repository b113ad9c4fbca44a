"""Split a long video at its codec keyframes into segments, and read one segment with its context.

A segment is a run of frames ``[start, end)`` written by one task. Its task decodes more than that:
from ``context_start`` (reached by seeking to the keyframe at or before it, then decoding) to
``context_end``, so the temporal engine's hold sees the frames before the join and its look-ahead the
frames after it. Nothing is re-encoded to split: each task reads the source itself.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from av.format import Flags as FormatFlags

from veil.errors import MediaError, UnreadableMediaError
from veil.types import Frame
from veil.video.limits import check_frame_size
from veil.video.probe import is_cover_art

__all__ = ["Segment", "VideoIndex", "context_frames", "index_video", "plan_segments", "read_segment"]

# Containers whose demuxer seeks to keyframes by timestamp and whose decoder gives each frame the
# packet's own timestamp; AVI and raw streams store decode order or no times, so they go whole.
_SEEKABLE_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"})


@dataclass(frozen=True)
class VideoIndex:
    """Every video frame's timestamp in presentation order, and which frames are keyframes.

    Read from the packets alone (no decoding), so it costs a fraction of a second per hour of video.
    """

    pts: tuple[int, ...]
    time_base: Fraction
    keyframes: tuple[int, ...]
    """Frame indices (presentation order) of the keyframes, ascending."""

    @property
    def frame_count(self) -> int:
        """Frames in the video."""
        return len(self.pts)

    def time_s(self, index: int) -> Fraction:
        """Presentation time of frame ``index``, in seconds from the stream's zero."""
        return self.pts[index] * self.time_base

    def times(self, start: int = 0, end: int | None = None) -> list[Fraction]:
        """Presentation times of frames ``[start, end)``, in seconds."""
        return [p * self.time_base for p in self.pts[start:end]]


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` of a video, written by one task that decodes ``[context_start, context_end)``.

    ``seek_pts`` is the timestamp of the keyframe at or before ``context_start`` the task seeks to.
    """

    number: int
    start: int
    end: int
    context_start: int
    context_end: int
    seek_pts: int

    @property
    def frames(self) -> int:
        """Frames this segment writes."""
        return self.end - self.start


def index_video(path: Path) -> VideoIndex | None:
    """Return the frame index of ``path``, or None when it cannot be split safely (it then goes whole).

    A video can be split when its container seeks by timestamp and every packet has its own distinct
    presentation timestamp that the decoder keeps (no packets marked for discarding, as edit lists do).
    """
    try:
        container = av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(f"{path}: not a video FFmpeg can read ({exc.strerror})") from exc
    with container:
        if FormatFlags(container.format.flags) & FormatFlags.no_timestamps:
            return None
        if not _SEEKABLE_FORMATS & set(container.format.name.split(",")):
            return None
        streams = [s for s in container.streams.video if not is_cover_art(s)]
        if not streams or streams[0].time_base is None:
            return None
        stream = streams[0]
        stamps: list[tuple[int, bool]] = []
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                if packet.pts is None or packet.is_discard or packet.is_corrupt:
                    return None
                stamps.append((packet.pts, packet.is_keyframe))
        except av.error.FFmpegError:
            return None  # a damaged file: the whole-file run decides what to do with it
        time_base = stream.time_base
    if time_base is None:
        return None
    stamps.sort()
    pts = tuple(p for p, _ in stamps)
    if not pts or len(set(pts)) != len(pts):
        return None
    keyframes = tuple(i for i, (_, key) in enumerate(stamps) if key)
    if not keyframes or keyframes[0] != 0:
        return None
    return VideoIndex(pts=pts, time_base=time_base, keyframes=keyframes)


def context_frames(lookahead_frames: int, hold_frames: int, detect_every: int) -> tuple[int, int]:
    """Return the frames a segment's task decodes before and after the frames it writes.

    Before: a track found on the last detection frame ahead of the join stays hidden ``hold_frames``
    after it, and the detection interval before that one sets where it was found. After: a frame waits
    ``lookahead_frames`` for its future, whose next detection frame may be one interval further on.
    Two intervals each way leave the schedule room to settle on the same detection frames.
    """
    return hold_frames + 2 * detect_every, lookahead_frames + 2 * detect_every


def plan_segments(
    index: VideoIndex, segment_s: float, *, before: int, after: int, detect_every: int
) -> list[Segment] | None:
    """Split ``index`` at keyframes into segments of about ``segment_s`` seconds; None: go whole.

    A video shorter than one and a half segments goes whole, as does one whose keyframes are too far
    apart to cut; a tail shorter than half a segment joins the segment before it. Each segment's
    context starts on a multiple of ``detect_every``, so its detection schedule starts in step with a
    one-pass run's.
    """
    n = index.frame_count
    start_s = index.time_s(0)
    duration = float(index.time_s(n - 1) - start_s)
    if segment_s <= 0 or duration < 1.5 * segment_s:
        return None
    key_times = [float(index.time_s(k) - start_s) for k in index.keyframes]
    bounds = [0]
    target = segment_s
    while True:
        at = bisect.bisect_left(key_times, target)
        if at >= len(key_times):
            break
        frame = index.keyframes[at]
        if frame > bounds[-1]:
            bounds.append(frame)
        target = max(target, key_times[at]) + segment_s
    if len(bounds) > 1 and duration - float(index.time_s(bounds[-1]) - start_s) < segment_s / 2:
        bounds.pop()
    if len(bounds) < 2:
        return None
    bounds.append(n)
    segments = []
    for number, (start, end) in enumerate(itertools.pairwise(bounds)):
        context_start = max(0, start - before) // detect_every * detect_every
        key = index.keyframes[bisect.bisect_right(index.keyframes, context_start) - 1]
        segments.append(
            Segment(number, start, end, context_start, min(n, end + after), seek_pts=index.pts[key])
        )
    return segments


def read_segment(path: Path, index: VideoIndex, segment: Segment, *, max_pixels: int) -> Iterator[Frame]:
    """Yield frames ``[context_start, context_end)`` of ``segment`` with their one-pass indices and times.

    Seeks to the keyframe at or before the context and decodes from there; frames before the context
    are decoded and dropped (a decoder needs its keyframe).

    Raises:
        MediaError: the frames decoded are not the ones the index lists (a file changed since it was
            indexed, or a container that does not seek exactly).
    """
    wanted = index.pts[segment.context_start : segment.context_end]
    try:
        container = av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(f"{path}: not a video FFmpeg can read ({exc.strerror})") from exc
    with container:
        stream = next(s for s in container.streams.video if not is_cover_art(s))
        stream.thread_type = "AUTO"
        time_base = stream.time_base
        position = 0
        try:
            container.seek(segment.seek_pts, stream=stream, backward=True, any_frame=False)
            for decoded in container.decode(stream):
                if decoded.pts is None:
                    raise MediaError(f"{path}: a frame after {segment.seek_pts} has no timestamp")
                if decoded.pts < wanted[0]:
                    continue
                if position >= len(wanted):
                    break
                if decoded.pts != wanted[position]:
                    raise MediaError(
                        f"{path}: frame {segment.context_start + position} decoded at {decoded.pts}, "
                        f"indexed at {wanted[position]}; the file changed or does not seek exactly"
                    )
                check_frame_size(decoded.width, decoded.height, max_pixels, f"{path} frame {position}")
                image = np.ascontiguousarray(decoded.to_ndarray(format="rgb24"), dtype=np.uint8)
                yield Frame(
                    image=image,
                    index=segment.context_start + position,
                    pts=decoded.pts,
                    time_base=time_base,
                )
                position += 1
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: decoding segment {segment.number} failed ({exc.strerror})") from exc
    if position != len(wanted):
        raise MediaError(f"{path}: segment {segment.number} decoded {position} of its {len(wanted)} frames")
