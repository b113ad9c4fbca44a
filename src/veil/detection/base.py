"""The Detector protocol every detector backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from veil.detections import Detections
from veil.types import Image, ObjectClass

__all__ = ["Detector"]


@runtime_checkable
class Detector(Protocol):
    """Find regions of some object classes in one RGB image.

    Returned boxes, polygons and masks are in the input image's pixel coordinates.
    Implementations keep their ONNX Runtime session for their whole life: create once, call often.
    """

    classes: frozenset[ObjectClass]

    def detect(self, image: Image) -> Detections:
        """Return every region found in ``image`` (H×W×3 uint8 RGB); never modify ``image``."""
        ...
