"""Cartoon: each region redrawn as flat colour bands with dark edges, too coarse to tell who it is."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from veil.anonymizers._output import redraw_regions
from veil.anonymizers._region_info import MAX_CELL_PX, Region, coarse_patch
from veil.checks import check_range
from veil.detections import Detections
from veil.types import Image

__all__ = ["Cartoon"]

# Cells of a third of the object's side, and never under 10 px: a face keeps its outline, hair and skin
# tones but no eyes or mouth a face detector could find. Finer cells, or a lower floor on small faces, let
# YuNet or CenterFace find faces in the flat bands and dark edges, on annotated or on detected regions
# (tests/integration/test_menu_privacy.py; the figures are in docs/methods.md).
DEFAULT_CELL_RATIO = 1 / 3
DEFAULT_MIN_CELL_PX = 10
DEFAULT_LEVELS = 5
_EDGE_COLOUR = np.array([24, 24, 24], np.uint8)


@dataclass(frozen=True)
class Cartoon:
    """Redraw each region as a cartoon: coarse cells, edge-preserving smoothing, few colours, dark edges.

    Args:
        cell_ratio: detail finer than this share of the object's mean side is removed first (the
            strength floor); larger hides more.
        min_cell_px: smallest cell, for tiny objects.
        levels: colour levels per channel after quantization.
    """

    cell_ratio: float = DEFAULT_CELL_RATIO
    min_cell_px: int = DEFAULT_MIN_CELL_PX
    levels: int = DEFAULT_LEVELS

    def __post_init__(self) -> None:
        check_range("cell_ratio", self.cell_ratio, 0.05, 1.0)
        check_range("min_cell_px", self.min_cell_px, 2, MAX_CELL_PX)
        check_range("levels", self.levels, 2, 16)

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region cartooned; never modify ``image`` unless it is ``out``."""
        return redraw_regions(image, detections, out, self._redraw)

    def _redraw(self, region: Region, patch: Image) -> Image:
        return self._cartoon(patch, max(float(self.min_cell_px), region.side_px * self.cell_ratio))

    def _cartoon(self, patch: Image, cell_px: float) -> Image:
        smooth = coarse_patch(patch, cell_px)
        diameter = max(3, min(15, round(cell_px)))
        smooth = np.asarray(cv2.bilateralFilter(smooth, diameter, 40.0, cell_px), np.uint8)
        step = 256 // self.levels
        flat = (smooth // step) * step + step // 2
        flat = np.clip(flat, 0, 255).astype(np.uint8)
        grey = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY)
        edges = cv2.Canny(grey, 20, 60)
        thickness = max(1, round(cell_px / 4))
        if thickness > 1:
            edges = cv2.dilate(edges, np.ones((thickness, thickness), np.uint8))
        flat[edges > 0] = _EDGE_COLOUR
        return np.ascontiguousarray(flat)
