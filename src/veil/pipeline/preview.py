"""A before/after contact sheet of sampled frames, for a quick look at what a run did."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from veil.types import Image

__all__ = ["ContactSheet"]

_TILE_WIDTH_PX = 480
_GAP_PX = 4


class ContactSheet:
    """Keep up to ``max_pairs`` (before, after) thumbnails, sampled every ``step`` frames."""

    def __init__(self, max_pairs: int = 6, frame_count: int | None = None) -> None:
        self.max_pairs = max_pairs
        # Without a known length, sample sparsely from the start rather than hold every frame.
        self._step = max(1, (frame_count or max_pairs * 30) // max_pairs)
        self._pairs: list[tuple[Image, Image]] = []

    def offer(self, index: int, before: Image, after: Image) -> None:
        """Keep this pair if frame ``index`` falls on the sampling grid and there is room."""
        if index % self._step == 0:
            self.add(before, after)

    def add(self, before: Image, after: Image) -> None:
        """Keep this pair if there is room."""
        if len(self._pairs) < self.max_pairs:
            self._pairs.append((_thumbnail(before), _thumbnail(after)))

    def save(self, path: Path) -> None:
        """Write the sheet (rows of before | after) as PNG; nothing sampled writes nothing."""
        if not self._pairs:
            return
        rows = [np.hstack([b, np.full((b.shape[0], _GAP_PX, 3), 255, np.uint8), a]) for b, a in self._pairs]
        width = max(r.shape[1] for r in rows)
        padded = [
            np.pad(r, ((0, _GAP_PX), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
        ]
        PILImage.fromarray(np.vstack(padded)).save(path, format="PNG")


def _thumbnail(image: Image) -> Image:
    scale = _TILE_WIDTH_PX / image.shape[1]
    size = (_TILE_WIDTH_PX, max(1, round(image.shape[0] * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
