"""Solid fill: paint each region in one colour, in its own shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil.anonymizers._output import output_for, write_inside
from veil.anonymizers._region_info import regions_of
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image

__all__ = ["SolidMask"]


@dataclass(frozen=True)
class SolidMask:
    """Fill every region with ``color_rgb`` (default black): nothing of it survives.

    Args:
        color_rgb: fill colour as (red, green, blue), each 0-255.
    """

    color_rgb: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        if len(self.color_rgb) != 3 or not all(0 <= int(c) <= 255 for c in self.color_rgb):
            raise ConfigError(f"color_rgb={self.color_rgb!r} must be three values in [0, 255]")

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region filled; never modify ``image`` unless it is ``out``."""
        result = output_for(image, out)
        color = np.asarray(self.color_rgb, np.uint8)
        for region in regions_of(detections, (result.shape[0], result.shape[1])):
            write_inside(result, region.crop, np.broadcast_to(color, (*region.crop.mask.shape, 3)))
        return result
