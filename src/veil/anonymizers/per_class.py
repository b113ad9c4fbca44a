"""Dispatch regions to a different anonymizer per object class."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from veil.anonymizers._output import output_for
from veil.anonymizers.base import Anonymizer
from veil.detections import Detections
from veil.types import Image, ObjectClass

__all__ = ["PerClassAnonymizer"]


class PerClassAnonymizer:
    """Hide each region with the anonymizer of its class, or with ``default`` for classes not listed."""

    def __init__(self, methods: Mapping[ObjectClass, Anonymizer], default: Anonymizer) -> None:
        self.methods: Mapping[ObjectClass, Anonymizer] = MappingProxyType(dict(methods))
        self.default = default

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region hidden by its class's anonymizer; never modify ``image``."""
        result = output_for(image, out)
        listed = np.zeros(len(detections), np.bool_)
        for cls, anonymizer in self.methods.items():
            rows = detections.labels == cls
            listed |= rows
            if rows.any():
                anonymizer.apply(result, detections[rows], out=result)
        if not listed.all():
            self.default.apply(result, detections[~listed], out=result)
        return result
