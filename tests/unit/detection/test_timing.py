"""The timing wrapper around each backend: counts every call, changes nothing the detectors see."""

from __future__ import annotations

import numpy as np

from veil.detection.fake import FakeDetector
from veil.detection.timing import DetectorTimes, TimedBackend
from veil.detections import Detections
from veil.types import ObjectClass

FACE = Detections.create([[1, 1, 9, 9]], [0.9], ObjectClass.FACE)


def test_timed_backend_returns_the_inner_regions_and_counts_each_call() -> None:
    inner = FakeDetector(FACE)
    times = DetectorTimes()
    timed = TimedBackend("yunet", inner, times)
    image = np.zeros((16, 16, 3), np.uint8)
    first = times.snapshot()
    for _ in range(3):
        found = timed.detect(image)
        np.testing.assert_array_equal(found.boxes_xyxy, FACE.boxes_xyxy)
    assert first == {}
    wall, cpu, calls = times.snapshot()["yunet"]
    assert calls == 3 and wall >= 0 and cpu >= 0
    assert timed.classes == inner.classes
    assert timed.detect is not inner.detect and timed.classes is inner.classes


def test_other_attributes_are_the_inner_backends() -> None:
    class WithSize(FakeDetector):
        def input_size(self, width: int, height: int) -> tuple[int, int]:
            return width // 2, height // 2

    timed = TimedBackend("ppocr_text", WithSize(FACE), DetectorTimes())
    assert timed.input_size(64, 32) == (32, 16)


class _Segmenter:
    """A backend with no ``classes`` of its own, as DeepLab's segmenter is."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> Detections:
        self.calls += 1
        return Detections.empty()


def test_a_backend_without_classes_can_be_timed() -> None:
    times = DetectorTimes()
    inner = _Segmenter()
    timed = TimedBackend("deeplab", inner, times)  # type: ignore[arg-type]
    assert len(timed.detect(np.zeros((4, 4, 3), np.uint8))) == 0
    assert inner.calls == 1
    assert times.snapshot()["deeplab"][2] == 1
