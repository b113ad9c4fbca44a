"""How long a video says it is, so that a file which stops short is seen as damaged, not as done."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from av.container import InputContainer
from av.video.stream import VideoStream

from veil.types import Frame

__all__ = ["DeclaredLength", "declared_length"]

# Containers whose stated length is a guess from the bit rate, not a fact recorded in the file.
_GUESSED_LENGTH_FORMATS = frozenset({"mpegts", "mpeg", "h264", "hevc", "mjpeg", "m4v"})

# A file may end a little before its declared end (rounding, a last frame's own duration, audio that
# outlasts the picture): only more than this many frame periods, or this many seconds, is damage.
_TOLERATED_FRAMES = 3
_TOLERATED_S = Fraction(1, 5)

_MATROSKA_DURATION = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")

_AV_TIME_BASE = 1_000_000  # FFmpeg's unit for container durations


@dataclass(frozen=True)
class DeclaredLength:
    """The end time a container records for its video stream, in seconds from time zero."""

    end_s: Fraction
    frame_rate: Fraction

    def shortfall(self, last: Frame, period_ticks: int) -> str | None:
        """Return why a stream whose last frame was ``last`` is short of this length, or None."""
        if last.pts is None or last.time_base is None:
            return None
        reached = (last.pts + period_ticks) * last.time_base
        tolerance = max(_TOLERATED_FRAMES / self.frame_rate, _TOLERATED_S)
        if self.end_s - reached <= tolerance:
            return None
        expected = round(self.end_s * self.frame_rate)
        return (
            f"it ends after {last.index + 1} frames ({float(reached):.2f} s) of the "
            f"{float(self.end_s):.2f} s (about {expected} frames) its container declares"
        )


def _matroska_duration(stream: VideoStream) -> Fraction | None:
    match = _MATROSKA_DURATION.match(stream.metadata.get("DURATION", "").strip())
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + Fraction(seconds)


def declared_length(
    container: InputContainer, stream: VideoStream, frame_rate: Fraction
) -> DeclaredLength | None:
    """Return the video stream's recorded length, or None where the container records none.

    AVI headers count the stream's slots (``frames`` × time base); MP4/MOV record the track duration;
    Matroska/WebM a per-track ``DURATION`` tag or the segment duration. MPEG-TS and raw streams record
    no length (FFmpeg's figure for them is an estimate from the bit rate), so they are not judged.
    """
    formats = set(container.format.name.split(","))
    if formats & _GUESSED_LENGTH_FORMATS or stream.time_base is None:
        return None
    time_base = stream.time_base
    start = stream.start_time or 0
    end: Fraction | None = None
    if "avi" in formats:
        end = stream.frames * time_base if stream.frames > 0 else None
    elif stream.duration:
        end = (start + stream.duration) * time_base
    elif "matroska" in formats:
        end = _matroska_duration(stream)
        if end is None and container.duration and len(container.streams) == 1:
            end = Fraction(container.duration, _AV_TIME_BASE)
    return None if end is None or end <= 0 else DeclaredLength(end_s=end, frame_rate=frame_rate)
