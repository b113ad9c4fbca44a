from __future__ import annotations

import numpy as np

from veil.detection.cache import LastImageCache
from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.types import Image, ObjectClass


def _count_red(index: int, image: Image) -> Detections:
    n = int((image[:, :, 0] == 255).sum())
    return Detections.create(np.tile([0, 0, 1, 1], (n, 1)), np.full(n, 0.5), ObjectClass.PERSON)


def test_same_image_is_detected_once() -> None:
    inner = FakeDetector(_count_red)
    cache = LastImageCache(inner)
    image = np.zeros((8, 8, 3), np.uint8)
    first = cache.detect(image)
    assert cache.detect(image.copy()) is first
    assert inner.calls == 1


def test_a_reused_buffer_with_new_content_is_detected_again() -> None:
    inner = FakeDetector(_count_red)
    cache = LastImageCache(inner)
    buffer = np.zeros((8, 8, 3), np.uint8)
    assert len(cache.detect(buffer)) == 0
    buffer[0, 0, 0] = 255
    assert len(cache.detect(buffer)) == 1
    assert inner.calls == 2
