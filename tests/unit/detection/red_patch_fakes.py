"""A scripted detector for tests: reports each red patch it sees, if large enough in its input."""

from __future__ import annotations

import cv2
import numpy as np

from veil.detections import Detections
from veil.types import Image, ObjectClass


class RedPatchDetector:
    """Detect pure-red blobs at least ``min_px`` wide in the image it is given; remember input sizes."""

    def __init__(
        self, label: ObjectClass = ObjectClass.FACE, min_px: int = 1, with_masks: bool = False
    ) -> None:
        self.classes = frozenset({label})
        self.label = label
        self.min_px = min_px
        self.with_masks = with_masks
        self.seen_shapes: list[tuple[int, ...]] = []

    def detect(self, image: Image) -> Detections:
        self.seen_shapes.append(image.shape)
        red = (image[:, :, 0] > 200) & (image[:, :, 1] < 50) & (image[:, :, 2] < 50)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(red.astype(np.uint8))
        boxes, masks = [], []
        for i in range(1, count):
            x, y, w, h = stats[i, :4]
            if min(w, h) >= self.min_px:
                boxes.append([x, y, x + w, y + h])
                masks.append(labels == i)
        polygons = [
            np.array([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]], np.float32) for b in boxes
        ]
        return Detections.create(
            np.array(boxes, np.float32).reshape(-1, 4),
            np.full(len(boxes), 0.9),
            self.label,
            polygons=polygons,
            masks=np.array(masks, bool).reshape(-1, *image.shape[:2]) if self.with_masks and boxes else None,
        )


def image_with_patches(height: int, width: int, patches: list[tuple[int, int, int, int]]) -> Image:
    """Return a grey image with red rectangles ``(x1, y1, x2, y2)``."""
    image = np.full((height, width, 3), 120, np.uint8)
    for x1, y1, x2, y2 in patches:
        image[y1:y2, x1:x2] = (255, 0, 0)
    return image
