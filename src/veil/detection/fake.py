"""A detector that returns scripted detections: for tests and dry runs, no model needed."""

from __future__ import annotations

from collections.abc import Callable

from veil.detections import Detections
from veil.types import Image, ObjectClass

__all__ = ["FailingDetector", "FakeDetector"]


class FakeDetector:
    """Return ``script(call_index, image)`` or the same fixed detections on every call."""

    def __init__(
        self,
        detections: Detections | Callable[[int, Image], Detections],
        classes: frozenset[ObjectClass] = frozenset(ObjectClass),
    ) -> None:
        self.classes = classes
        self._source = detections
        self.calls = 0

    def detect(self, image: Image) -> Detections:
        """Return the scripted detections for this call."""
        index = self.calls
        self.calls += 1
        if isinstance(self._source, Detections):
            return self._source
        return self._source(index, image)


class FailingDetector:
    """Raise ``error`` on call number ``fail_at`` (0-based) and later; detect nothing before."""

    def __init__(self, error: Exception, fail_at: int = 0) -> None:
        self.classes: frozenset[ObjectClass] = frozenset(ObjectClass)
        self._error = error
        self._fail_at = fail_at
        self.calls = 0

    def detect(self, image: Image) -> Detections:
        """Return no regions until ``fail_at``, then raise."""
        self.calls += 1
        if self.calls > self._fail_at:
            raise self._error
        return Detections.empty()
