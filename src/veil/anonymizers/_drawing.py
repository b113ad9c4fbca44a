"""Flat drawing inside a region: class colours, its outline and a label that fits it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import cv2
import numpy as np

from veil.regions import RegionCrop
from veil.types import Image, ObjectClass

__all__ = ["CLASS_COLOURS", "draw_label", "draw_outline"]

CLASS_COLOURS: Mapping[ObjectClass, tuple[int, int, int]] = MappingProxyType(
    {
        ObjectClass.FACE: (96, 170, 160),
        ObjectClass.PERSON: (70, 130, 200),
        ObjectClass.LICENSE_PLATE: (230, 220, 60),
        ObjectClass.VEHICLE: (120, 120, 130),
        ObjectClass.TEXT: (190, 90, 170),
    }
)
"""The colour each class is drawn in by the abstraction method (RGB)."""

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_PX_PER_SCALE = 22.0
_LABEL_HEIGHT_SHARE = 0.4  # Hershey simplex at scale 1 is about this tall, ascender to baseline


def draw_outline(patch: Image, crop: RegionCrop, colour: tuple[int, int, int], thickness: int) -> None:
    """Draw the region's boundary, ``thickness`` px wide, on ``patch`` (the crop's pixels), in place."""
    mask = np.pad(crop.mask, 1).view(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(-1, -1))
    cv2.drawContours(patch, contours, -1, colour, thickness, lineType=cv2.LINE_8)


def draw_label(patch: Image, text: str, colour: tuple[int, int, int]) -> bool:
    """Draw ``text`` centred on ``patch``, as large as fits; return False when it would not be legible."""
    height, width = patch.shape[:2]
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, 1.0, 1)
    scale = min(0.8 * width / max(text_w, 1), _LABEL_HEIGHT_SHARE * height / max(text_h + baseline, 1), 3.0)
    if scale * _FONT_PX_PER_SCALE < 7:
        return False
    thickness = max(1, round(scale * 1.5))
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    origin = ((width - text_w) // 2, (height + text_h) // 2)
    cv2.putText(patch, text, origin, _FONT, scale, colour, thickness, lineType=cv2.LINE_AA)
    return True
