"""Time spent in each detector model: a thin wrapper the registry puts around every backend it builds."""

from __future__ import annotations

import threading
import time
from typing import Any

from veil.detection.base import Detector
from veil.detections import Detections
from veil.types import Image, ObjectClass

__all__ = ["DetectorTimes", "TimedBackend"]


class DetectorTimes:
    """Wall and thread CPU seconds and calls per backend name, summed from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, tuple[float, float, int]] = {}

    def add(self, name: str, wall_s: float, cpu_s: float) -> None:
        """Add one call of backend ``name``."""
        with self._lock:
            wall, cpu, calls = self._totals.get(name, (0.0, 0.0, 0))
            self._totals[name] = (wall + wall_s, cpu + cpu_s, calls + 1)

    def snapshot(self) -> dict[str, tuple[float, float, int]]:
        """Return ``name → (wall_s, cpu_s, calls)`` so far; a run's share is the difference of two."""
        with self._lock:
            return dict(self._totals)


class TimedBackend:
    """Run ``inner`` and add the time of each ``detect`` to ``times`` under ``name``.

    Other attributes are ``inner``'s, so the detectors composed around a backend see no difference. The
    cost is two clock readings per call, against milliseconds of inference.
    """

    def __init__(self, name: str, inner: Detector, times: DetectorTimes) -> None:
        self._name = name
        self._inner = inner
        self._times = times

    @property
    def classes(self) -> frozenset[ObjectClass]:
        """``inner``'s classes, read when asked: a segmenter backend (DeepLab) has none of its own."""
        return self._inner.classes

    def detect(self, image: Image) -> Detections:
        """Return ``inner``'s regions for ``image``, timed."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return self._inner.detect(image)
        finally:
            self._times.add(self._name, time.perf_counter() - wall, time.thread_time() - cpu)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)
