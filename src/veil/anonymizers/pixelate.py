"""Pixelation: replace each region with block averages whose size follows the object's size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.anonymizers._output import output_for, write_inside
from veil.anonymizers._region_info import regions_of
from veil.detections import Detections
from veil.errors import ConfigError
from veil.regions import RegionCrop
from veil.types import Image

__all__ = ["Pixelate", "block_size_px"]

# About 8 blocks across the object: too coarse for a face or plate to be read back.
DEFAULT_BLOCK_RATIO = 1 / 8
DEFAULT_MIN_BLOCK_PX = 4


def block_size_px(
    box_w: float,
    box_h: float,
    *,
    block_ratio: float = DEFAULT_BLOCK_RATIO,
    min_block_px: int = DEFAULT_MIN_BLOCK_PX,
) -> int:
    """Return the block side (px) for a ``box_w`` × ``box_h`` object: ratio × mean side, or the floor."""
    mean_side = max(0.0, (float(box_w) + float(box_h)) / 2.0)
    return max(round(mean_side * block_ratio), min_block_px)


@dataclass(frozen=True)
class Pixelate:
    """Replace each region's pixels with the mean of the block they fall in.

    Blocks are laid out from the region's top-left corner; where a side is not a whole number of blocks,
    the last block of that row or column is widened (never a sliver that would keep single pixels).

    Args:
        block_ratio: block side as a share of the object's mean box side.
        min_block_px: smallest block side.
    """

    block_ratio: float = DEFAULT_BLOCK_RATIO
    min_block_px: int = DEFAULT_MIN_BLOCK_PX

    def __post_init__(self) -> None:
        if not 0.0 < self.block_ratio <= 1.0:
            raise ConfigError(f"block_ratio={self.block_ratio!r} is out of range (0, 1]")
        if self.min_block_px < 2:
            raise ConfigError(f"min_block_px={self.min_block_px!r} must be at least 2")

    def block_px(self, box_w: float, box_h: float) -> int:
        """Return the block side (px) used for a ``box_w`` × ``box_h`` object."""
        return block_size_px(box_w, box_h, block_ratio=self.block_ratio, min_block_px=self.min_block_px)

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region pixelated; never modify ``image`` unless it is ``out``."""
        result = output_for(image, out)
        for region in regions_of(detections, (result.shape[0], result.shape[1])):
            _pixelate_region(result, region.crop, self.block_px(region.side_px, region.side_px))
        return result


def _pixelate_region(frame: Image, crop: RegionCrop, block: int) -> None:
    """Pixelate ``crop`` of ``frame`` in place with ``block``-px blocks, writing only inside its mask."""
    height, width = frame.shape[:2]
    # A region thinner than one block borrows neighbouring frame pixels, so its block is a real average.
    y0, y1 = _widen(crop.y0, crop.y1, block, height)
    x0, x1 = _widen(crop.x0, crop.x1, block, width)
    window = frame[y0:y1, x0:x1]
    row_starts = _block_starts(y1 - y0, block)
    col_starts = _block_starts(x1 - x0, block)
    sums = np.add.reduceat(np.add.reduceat(window.astype(np.float64), row_starts, axis=0), col_starts, axis=1)
    row_sizes = np.diff(np.append(row_starts, y1 - y0))
    col_sizes = np.diff(np.append(col_starts, x1 - x0))
    means = sums / (row_sizes[:, None, None] * col_sizes[None, :, None])
    blocks = np.repeat(np.repeat(np.rint(means).astype(np.uint8), row_sizes, axis=0), col_sizes, axis=1)
    write_inside(frame, crop, blocks[crop.y0 - y0 : crop.y1 - y0, crop.x0 - x0 : crop.x1 - x0])


def _widen(start: int, stop: int, block: int, limit: int) -> tuple[int, int]:
    """Return [start, stop) grown about its centre to at least ``block`` long, kept inside [0, limit)."""
    missing = block - (stop - start)
    if missing <= 0:
        return start, stop
    start = max(0, start - missing // 2)
    stop = min(limit, start + block)
    return max(0, stop - block), stop


def _block_starts(length: int, block: int) -> npt.NDArray[np.intp]:
    """Return the first index of each block along ``length``; the last block takes the remainder."""
    count = max(1, length // block)
    return np.arange(count, dtype=np.intp) * block
