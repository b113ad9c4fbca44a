from __future__ import annotations

import cv2
import numpy as np

from veil.detection.deeplab import VOC_CLASSES_OF, DeepLabSegmenter
from veil.types import ObjectClass


def _logits() -> np.ndarray:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 0.3, (257, 257, 21)).astype(np.float32)
    logits[:, :, 0] += 3  # background almost everywhere
    logits[50:150, 100:140, 15] += 10  # a person
    logits[200:240, 20:120, 7] += 10  # a car
    logits[200:240, 120:200, 6] += 10  # a bus beside it
    return logits


def test_class_mask_matches_interpolate_then_argmax() -> None:
    logits = _logits()
    frame_hw = (360, 640)
    labels = np.argmax(cv2.resize(logits, (640, 360), interpolation=cv2.INTER_LINEAR), axis=2)
    for cls in (ObjectClass.PERSON, ObjectClass.VEHICLE):
        mask = DeepLabSegmenter.class_mask(logits, frame_hw, VOC_CLASSES_OF[cls])
        expected = np.isin(labels, VOC_CLASSES_OF[cls])
        assert mask.shape == frame_hw
        assert expected.sum() > 1000
        # The two may differ only along the region's edge (the margin map interpolates max-minus-max).
        kernel = np.ones((5, 5), np.uint8)
        edge = cv2.dilate(expected.astype(np.uint8), kernel) > cv2.erode(expected.astype(np.uint8), kernel)
        assert not (mask != expected)[~edge].any()


def test_vehicle_covers_cars_and_buses_but_not_persons() -> None:
    mask = DeepLabSegmenter.class_mask(_logits(), (257, 257), VOC_CLASSES_OF[ObjectClass.VEHICLE])
    assert mask[220, 60] and mask[220, 160]
    assert not mask[100, 120]
