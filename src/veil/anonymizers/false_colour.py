"""False colour: each region's brightness, in a few coarse levels, shown through a colour map."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from veil.anonymizers._output import redraw_regions
from veil.anonymizers._region_info import MAX_CELL_PX, Region, coarse_patch
from veil.checks import check_range
from veil.detections import Detections
from veil.types import Image

__all__ = ["ColourMap", "FalseColour"]

# Cells of a fifth of the object's side, never under 8 px, before the levels: with finer cells CenterFace
# still found a shared face (tests/integration/test_menu_privacy.py; figures in docs/methods.md).
DEFAULT_CELL_RATIO = 1 / 5
DEFAULT_MIN_CELL_PX = 8
DEFAULT_LEVELS = 6


class ColourMap(enum.Enum):
    """OpenCV colour maps a false-colour region may be drawn with."""

    JET = cv2.COLORMAP_JET
    VIRIDIS = cv2.COLORMAP_VIRIDIS
    INFERNO = cv2.COLORMAP_INFERNO
    TURBO = cv2.COLORMAP_TURBO


@dataclass(frozen=True)
class FalseColour:
    """Replace each region with its coarse luminance, quantized to ``levels`` and coloured by ``colour_map``.

    Shapes and light survive (someone is there, facing the light); skin tone, texture and features do not.

    Args:
        cell_ratio: luminance detail finer than this share of the object's mean side is removed first.
        min_cell_px: smallest cell, for tiny objects.
        levels: luminance levels left.
        colour_map: the colour map the levels are shown through.
    """

    cell_ratio: float = DEFAULT_CELL_RATIO
    min_cell_px: int = DEFAULT_MIN_CELL_PX
    levels: int = DEFAULT_LEVELS
    colour_map: ColourMap = ColourMap.TURBO

    def __post_init__(self) -> None:
        check_range("cell_ratio", self.cell_ratio, 0.05, 1.0)
        check_range("min_cell_px", self.min_cell_px, 2, MAX_CELL_PX)
        check_range("levels", self.levels, 2, 32)

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region in false colour; never modify ``image`` unless it is ``out``."""
        lut = self._lut()

        def redraw(region: Region, patch: Image) -> Image:
            cell = max(float(self.min_cell_px), region.side_px * self.cell_ratio)
            luminance = cv2.cvtColor(coarse_patch(patch, cell), cv2.COLOR_RGB2GRAY)
            return np.ascontiguousarray(lut[luminance])

        return redraw_regions(image, detections, out, redraw)

    def _lut(self) -> Image:
        """Return the 256×3 RGB table from a luminance to the colour of its level."""
        step = 256 / self.levels
        level_of = np.minimum(np.arange(256) // step, self.levels - 1)
        # Each level takes the colour at its share of the map, from its first to its last colour.
        positions = np.round(level_of * 255 / (self.levels - 1)).astype(np.uint8)
        bgr = cv2.applyColorMap(positions.reshape(-1, 1), self.colour_map.value).reshape(256, 3)
        return np.ascontiguousarray(bgr[:, ::-1])
