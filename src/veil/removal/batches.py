"""Group frames into batches by camera motion: still-camera runs and moving-camera runs, split at cuts."""

from __future__ import annotations

import enum
from collections import deque

import numpy as np
import numpy.typing as npt

from veil.errors import ConfigError

__all__ = ["BatchOrganizer", "CameraMotion", "camera_motion_px"]


class CameraMotion(enum.Enum):
    """How a batch of frames is filled."""

    STILL = "still"  # a background plate: per-pixel median over the window
    MOVING = "moving"  # colour carried along optical flow from nearby frames


def camera_motion_px(flow: npt.NDArray[np.float32], ignore: npt.NDArray[np.bool_] | None = None) -> float:
    """Return how far the picture moved between two frames: the median flow length, in px.

    Pixels in ``ignore`` (the objects being removed) do not count, unless they are nearly all of them.
    A still camera reads a few thousandths of a pixel; a pan or a drive reads tenths or more.
    """
    length = np.hypot(flow[..., 0], flow[..., 1])
    if ignore is not None and int((~ignore).sum()) >= length.size // 10:
        length = length[~ignore]
    return float(np.percentile(length, 50))


class BatchOrganizer:
    """Assign each frame, in order, to a batch (segment) of frames with the same camera motion.

    A scene cut always starts a new segment. Otherwise a segment's kind flips only when most of the
    last ``votes`` frames disagree with it, so one jolt of a still camera does not split it; a young
    segment (fewer than ``votes`` frames) is relabelled instead of split, which settles the kind of
    the first frames after a cut, whose motion is not known yet.

    Args:
        still_px: flow length (see :func:`camera_motion_px`, in pixels of the flow's grid) below which
            the camera counts as still.
        votes: how many recent frames decide the kind.
    """

    def __init__(self, *, still_px: float = 0.3, votes: int = 5) -> None:
        if not 0.0 < still_px <= 100.0:
            raise ConfigError(f"still_px={still_px!r} is out of range (0, 100]")
        if not 1 <= votes <= 100:
            raise ConfigError(f"votes={votes!r} is out of range [1, 100]")
        self.still_px = still_px
        self.votes = votes
        self._kinds: list[CameraMotion] = []
        self._recent: deque[CameraMotion] = deque(maxlen=votes)
        self._length = 0  # frames in the current segment

    @property
    def segments(self) -> int:
        """Segments started so far."""
        return len(self._kinds)

    def kind(self, segment: int) -> CameraMotion:
        """Return how segment ``segment`` is filled (a young segment may still be relabelled)."""
        return self._kinds[segment]

    def observe(self, motion_px: float | None, *, cut: bool = False) -> int:
        """Return the segment of the next frame; ``motion_px`` is its motion from the previous frame.

        ``None``: unknown (the first frame, or a cut); the frame joins a new segment at a cut or start.
        """
        if cut or not self._kinds:
            self._recent.clear()
            self._kinds.append(CameraMotion.STILL)
            self._length = 0
        if motion_px is not None:
            self._recent.append(CameraMotion.MOVING if motion_px > self.still_px else CameraMotion.STILL)
        current = self._kinds[-1]
        majority = self._majority()
        if majority is not None and majority is not current:
            if self._length < self.votes:
                self._kinds[-1] = majority
            else:
                self._kinds.append(majority)
                self._length = 0
        self._length += 1
        return len(self._kinds) - 1

    def _majority(self) -> CameraMotion | None:
        if not self._recent:
            return None
        moving = sum(1 for k in self._recent if k is CameraMotion.MOVING)
        needed = min(len(self._recent), self.votes) // 2 + 1
        if moving >= needed:
            return CameraMotion.MOVING
        if len(self._recent) - moving >= needed:
            return CameraMotion.STILL
        return None
