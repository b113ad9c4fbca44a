"""The Anonymizer protocol every anonymization method implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from veil.detections import Detections
from veil.types import Image

__all__ = ["Anonymizer"]


@runtime_checkable
class Anonymizer(Protocol):
    """Hide every region of ``detections`` in ``image``.

    Never modifies ``image``; writes into ``out`` when given (it may be ``image`` itself only if the
    caller passes it explicitly) and returns the result. Regions are drawn in their own shape
    (see :mod:`veil.regions`): mask, polygon, ellipse for faces, else box.
    """

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region anonymized."""
        ...
