"""Abstraction: each object drawn as what it is, not who: silhouette, outline sketch or labelled box."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from veil.anonymizers._drawing import CLASS_COLOURS, draw_label, draw_outline
from veil.anonymizers._output import redraw_regions
from veil.anonymizers._region_info import Region, coarse_patch
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, ObjectClass

__all__ = ["Abstraction", "AbstractionStyle"]

_INK = (30, 30, 30)
_PAPER = (235, 235, 230)
# The outline sketch draws edges of a copy this coarse (share of the object's side), never finer than
# 10 px: the outline of head and shoulders, not of eyes (the cartoon's floor, measured the same way).
_SKETCH_CELL_RATIO = 1 / 3
_SKETCH_MIN_CELL_PX = 10


class AbstractionStyle(enum.Enum):
    """How an abstracted object is drawn."""

    SILHOUETTE = "silhouette"  # filled in its class colour, in its own shape (DeepLab's mask if it has one)
    OUTLINE = "outline"  # a coarse edge sketch on paper, with the shape's outline
    LABEL = "label"  # the silhouette with its class and track written on it ("person 7"); faces: none


@dataclass(frozen=True)
class Abstraction:
    """Replace each region with a drawing of its class: shape and kind survive, appearance does not.

    Args:
        style: silhouette, outline sketch, or labelled silhouette.
    """

    style: AbstractionStyle = AbstractionStyle.LABEL

    def __post_init__(self) -> None:
        if not isinstance(self.style, AbstractionStyle):
            raise ConfigError(f"style={self.style!r} is not one of {[s.value for s in AbstractionStyle]}")

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region drawn as its class; never modify ``image`` unless ``out``."""

        def redraw(region: Region, patch: Image) -> Image:
            label: ObjectClass = detections.labels[region.row]
            if self.style is AbstractionStyle.OUTLINE:
                values = self._sketch(patch, region.side_px)
            else:
                values = np.empty_like(patch)
                values[...] = CLASS_COLOURS[label]
            draw_outline(values, region.crop, _INK, max(1, round(region.side_px / 40)))
            # A face's fill stays unlabelled: text on a face-shaped fill, wherever it was placed, was read
            # as eyes and mouth by CenterFace on some of the shared faces (docs/methods.md).
            if self.style is AbstractionStyle.LABEL and label is not ObjectClass.FACE:
                draw_label(values, _label_text(detections, region.row), _PAPER)
            return values

        return redraw_regions(image, detections, out, redraw)

    @staticmethod
    def _sketch(patch: Image, side: float) -> Image:
        coarse = coarse_patch(patch, max(float(_SKETCH_MIN_CELL_PX), side * _SKETCH_CELL_RATIO))
        edges = cv2.Canny(cv2.cvtColor(coarse, cv2.COLOR_RGB2GRAY), 20, 60)
        values = np.empty_like(patch)
        values[...] = _PAPER
        values[edges > 0] = _INK
        return values


def _label_text(detections: Detections, i: int) -> str:
    label: ObjectClass = detections.labels[i]
    name = label.value
    if detections.track_ids is not None and int(detections.track_ids[i]) >= 0:
        return f"{name} {int(detections.track_ids[i])}"
    return name
