"""Shared inputs for the anonymizer tests: a textured frame and regions of every shape.

A plain module, not a conftest: a second ``conftest`` module would shadow ``tests/conftest.py`` for
tests that import from it.
"""

from __future__ import annotations

import numpy as np

from veil.detections import Detections
from veil.types import Image, Mask, ObjectClass

FRAME_HW = (120, 160)


def textured_image(seed: int = 0, hw: tuple[int, int] = FRAME_HW) -> Image:
    """Return noise in [16, 240]: no pixel equals a fill colour or its region's average."""
    return np.random.default_rng(seed).integers(16, 241, (*hw, 3), dtype=np.uint8)


def _blob_mask() -> Mask:
    ys, xs = np.mgrid[0 : FRAME_HW[0], 0 : FRAME_HW[1]]
    blob: Mask = ((ys - 80) / 25.0) ** 2 + ((xs - 40) / 15.0) ** 2 <= 1
    blob |= (abs(ys - 60) < 4) & (abs(xs - 45) < 20)  # an arm
    return blob


def region_cases() -> dict[str, Detections]:
    """Return detections covering every region shape and the frame's edges."""
    plate = Detections.create([[20, 30, 80, 60]], [0.9], ObjectClass.LICENSE_PLATE)
    face = Detections.create([[95, 20, 135, 70]], [0.9], ObjectClass.FACE)
    text = Detections.create(
        [[60, 70, 130, 110]],
        [0.9],
        ObjectClass.TEXT,
        polygons=[np.array([[60, 80], [125, 70], [130, 100], [65, 110]], np.float32)],
    )
    person = Detections.create([[25, 55, 65, 105]], [0.9], ObjectClass.PERSON, masks=_blob_mask()[None])
    edge_box = Detections.create([[-10, 90, 30, 130]], [0.9], ObjectClass.LICENSE_PLATE)
    corner_face = Detections.create([[140, -10, 170, 20]], [0.9], ObjectClass.FACE)
    tiny = Detections.create([[50.2, 50.4, 52.8, 52.9]], [0.9], ObjectClass.LICENSE_PLATE)
    thin = Detections.create([[10, 5, 150, 6]], [0.9], ObjectClass.TEXT)
    parts = [plate, face, text, person, edge_box, corner_face, tiny, thin]
    return {
        "box": plate,
        "face-ellipse": face,
        "polygon": text,
        "mask": person,
        "box-partly-outside": edge_box,
        "face-at-corner": corner_face,
        "tiny": tiny,
        "thin": thin,
        "all-overlapping": Detections.concat(parts, frame_shape=FRAME_HW),
    }


REGION_NAMES = list(region_cases())
