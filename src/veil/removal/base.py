"""The ClipAnonymizer protocol: hide masked pixels using a whole clip, not one frame at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from veil.removal.engine import WindowFiller
from veil.types import Frame, Image, Mask

__all__ = ["ClipAnonymizer", "ClipRemover", "FlatFill"]


@runtime_checkable
class ClipAnonymizer(Protocol):
    """Return one image per frame with each frame's masked pixels replaced; never modify the frames."""

    def apply_clip(self, frames: Sequence[Frame], masks: Sequence[Mask]) -> list[Image]:
        """Return the frames' images with ``masks[i]`` removed from ``frames[i]``."""
        ...


class ClipRemover:
    """Remove masked pixels by filling them with background from the clip's other frames.

    The arguments are :class:`~veil.removal.engine.WindowFiller`'s; the clip is one batch of frames
    unless its camera motion changes.
    """

    def __init__(
        self, *, window_radius: int = 15, plate_samples: int = 15, flow_long_side_px: int = 640
    ) -> None:
        self._window_radius = window_radius
        self._plate_samples = plate_samples
        self._flow_long_side_px = flow_long_side_px
        self._new_filler()  # check the settings now, not on the first clip

    def _new_filler(self) -> WindowFiller:
        return WindowFiller(
            window_radius=self._window_radius,
            plate_samples=self._plate_samples,
            flow_long_side_px=self._flow_long_side_px,
        )

    def apply_clip(self, frames: Sequence[Frame], masks: Sequence[Mask]) -> list[Image]:
        """Return the clip with its masked pixels filled (frames in the given order, one batch)."""
        if len(frames) != len(masks):
            raise ValueError(f"{len(frames)} frames but {len(masks)} masks")
        filler = self._new_filler()
        done = []
        for frame, mask in zip(frames, masks, strict=True):
            done += filler.push(frame, mask)
        done += filler.flush()
        return [d.image for d in done]


class FlatFill:
    """Fill masked pixels with one grey level: a fake for tests of what drives a clip anonymizer."""

    def __init__(self, level: int = 128) -> None:
        self.level = level

    def apply_clip(self, frames: Sequence[Frame], masks: Sequence[Mask]) -> list[Image]:
        """Return copies of the frames' images with masked pixels set to ``level``."""
        out = []
        for frame, mask in zip(frames, masks, strict=True):
            image = frame.image.copy()
            image[np.asarray(mask, np.bool_)] = self.level
            out.append(image)
        return out
