"""Run a detector on the whole image and on overlapping full-resolution tiles, for small objects."""

from __future__ import annotations

import math

import numpy as np

from veil.detection.base import Detector
from veil.detection.merge import nms_by_class
from veil.detection.remap import remap_detections
from veil.detection.resize import ResizedDetector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image

__all__ = ["TiledDetector", "tile_origins"]

_MERGE_IOU = 0.5


def tile_origins(length_px: int, tile_px: int, overlap_ratio: float) -> list[int]:
    """Return the start offsets of tiles of ``tile_px`` covering ``length_px`` with at least that overlap.

    Tiles are spread evenly so the first starts at 0 and the last ends at ``length_px``.
    """
    if length_px <= tile_px:
        return [0]
    stride = tile_px * (1.0 - overlap_ratio)
    count = math.ceil((length_px - tile_px) / stride) + 1
    span = length_px - tile_px
    return [round(i * span / (count - 1)) for i in range(count)]


class TiledDetector:
    """Run ``inner`` on the whole image (shrunk to ``whole_long_side_px``) and on full-resolution tiles.

    Tiles are ``tile_px`` squares overlapping by at least ``overlap_ratio`` of their side, so an object
    smaller than the overlap appears whole in some tile. Results are merged by per-class non-maximum
    suppression; polygons and masks are kept (masks come back at the full image's size).

    Args:
        inner: the detector run on the whole image and on every tile.
        tile_px: side of a tile in full-resolution pixels.
        overlap_ratio: share of a tile shared with its neighbour, in [0, 0.9].
        whole_long_side_px: long side of the shrunk whole-image pass (default ``tile_px``).
    """

    def __init__(
        self, inner: Detector, tile_px: int, overlap_ratio: float, *, whole_long_side_px: int | None = None
    ) -> None:
        if tile_px < 32:
            raise ConfigError(f"tile_px={tile_px!r} must be >= 32")
        if not 0.0 <= overlap_ratio <= 0.9:
            raise ConfigError(f"overlap_ratio={overlap_ratio!r} is out of range [0, 0.9]")
        self.classes = inner.classes
        self._inner = inner
        self._whole = ResizedDetector(inner, whole_long_side_px or tile_px)
        self._tile_px = tile_px
        self._overlap_ratio = overlap_ratio

    def detect(self, image: Image) -> Detections:
        """Return the merged regions of the whole-image pass and every tile, in ``image``'s pixels."""
        height, width = image.shape[:2]
        frame_hw = (height, width)
        parts = [self._whole.detect(image)]
        xs = tile_origins(width, self._tile_px, self._overlap_ratio)
        ys = tile_origins(height, self._tile_px, self._overlap_ratio)
        if len(xs) > 1 or len(ys) > 1:
            for y in ys:
                for x in xs:
                    tile = np.ascontiguousarray(image[y : y + self._tile_px, x : x + self._tile_px])
                    found = self._inner.detect(tile)
                    parts.append(
                        remap_detections(found, scale_xy=(1.0, 1.0), offset_xy=(x, y), frame_hw=frame_hw)
                    )
        return nms_by_class(Detections.concat(parts, frame_shape=frame_hw), _MERGE_IOU)
