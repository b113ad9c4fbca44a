"""Keep only some classes of a detector's regions."""

from __future__ import annotations

from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, ObjectClass

__all__ = ["SelectClasses"]


class SelectClasses:
    """Run ``inner`` and return only its regions of ``classes`` (which ``inner`` must be able to find)."""

    def __init__(self, inner: Detector, classes: frozenset[ObjectClass]) -> None:
        unknown = classes - inner.classes
        if unknown:
            names = ", ".join(sorted(c.value for c in unknown))
            raise ConfigError(f"the detector cannot find {names}; it finds {_names(inner.classes)}")
        self.classes = classes
        self._inner = inner

    def detect(self, image: Image) -> Detections:
        """Return ``inner``'s regions of the selected classes."""
        found = self._inner.detect(image)
        if not len(found) or self.classes >= self._inner.classes:
            return found
        return found.of_class(*self.classes)


def _names(classes: frozenset[ObjectClass]) -> str:
    return ", ".join(sorted(c.value for c in classes))
