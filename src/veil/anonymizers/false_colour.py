"""False colour: each region's brightness, in a few coarse levels, shown through a colour map."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from veil.anonymizers._output import output_for, write_inside
from veil.anonymizers._region_info import coarse_patch, ensure_changed, object_side_px
from veil.detections import Detections
from veil.errors import ConfigError
from veil.regions import region_crop
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
        if not 0.05 <= self.cell_ratio <= 1.0:
            raise ConfigError(f"cell_ratio={self.cell_ratio!r} is out of range [0.05, 1]")
        if self.min_cell_px < 2:
            raise ConfigError(f"min_cell_px={self.min_cell_px!r} must be at least 2")
        if not 2 <= self.levels <= 32:
            raise ConfigError(f"levels={self.levels!r} is out of range [2, 32]")

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region in false colour; never modify ``image`` unless it is ``out``."""
        result = output_for(image, out)
        frame_hw = (result.shape[0], result.shape[1])
        lut = self._lut()
        for i in range(len(detections)):
            crop = region_crop(detections, i, frame_hw)
            if crop is None:
                continue
            cell = max(float(self.min_cell_px), object_side_px(detections, i, crop) * self.cell_ratio)
            original = result[crop.slices].copy()
            luminance = cv2.cvtColor(coarse_patch(original, cell), cv2.COLOR_RGB2GRAY)
            values = np.ascontiguousarray(lut[luminance])
            ensure_changed(values, original, crop.mask)
            write_inside(result, crop, values)
        return result

    def _lut(self) -> Image:
        """Return the 256×3 RGB table from a luminance to the colour of its level."""
        step = 256 / self.levels
        level_of = np.minimum(np.arange(256) // step, self.levels - 1)
        # Each level takes the colour at its share of the map, from its first to its last colour.
        positions = np.round(level_of * 255 / (self.levels - 1)).astype(np.uint8)
        bgr = cv2.applyColorMap(positions.reshape(-1, 1), self.colour_map.value).reshape(256, 3)
        return np.ascontiguousarray(bgr[:, ::-1])
