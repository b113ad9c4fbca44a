"""What one removal run did, counted."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FillCounts", "RemovalReport"]


@dataclass
class FillCounts:
    """Masked pixels by how they were filled, summed over frames."""

    masked: int = 0
    from_other_frames: int = 0  # seen in another frame of the window (median plate or flow)
    carried: int = 0  # taken from the previous output frame (keeps a spatial fill steady)
    spatial: int = 0  # never seen: filled from the surrounding pixels of the same frame

    def add(self, other: FillCounts) -> None:
        """Add another frame's counts."""
        self.masked += other.masked
        self.from_other_frames += other.from_other_frames
        self.carried += other.carried
        self.spatial += other.spatial


@dataclass(frozen=True)
class RemovalReport:
    """The result of removing objects from one video.

    Args:
        operation: ``remove_static_object`` or ``remove_dynamic_object``.
        frames_read / frames_written: equal on success (every frame is written, filled or not).
        frames_with_mask: frames that had something to remove.
        still_frames / moving_frames: frames filled with the still-camera plate or by optical flow.
        segments: batches of frames (a new one at each scene cut or change of camera motion).
        masked_pixel_ratio: mean share of a frame's pixels that were removed.
        fill: how the removed pixels were filled.
        elapsed_s: wall time of the run.
    """

    source: str
    output: str
    operation: str
    frames_read: int
    frames_written: int
    frames_with_mask: int
    still_frames: int
    moving_frames: int
    segments: int
    masked_pixel_ratio: float
    fill: FillCounts
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values."""
        return asdict(self)
