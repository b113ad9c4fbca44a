"""Pipelines with a scripted detector, for tests and dry runs of the service: no model files needed."""

from __future__ import annotations

import time

import numpy as np

from veil.api import Pipeline, open_pipeline
from veil.detections import Detections
from veil.pipeline.config import PipelineConfig
from veil.types import Image, ObjectClass

__all__ = ["CenterDetector", "fake_pipeline", "slow_fake_pipeline"]


class CenterDetector:
    """Report one face covering the middle third of every frame, after an optional delay."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.classes: frozenset[ObjectClass] = frozenset(ObjectClass)
        self._delay_s = delay_s

    def detect(self, image: Image) -> Detections:
        """Return the centre box as a face."""
        if self._delay_s:
            time.sleep(self._delay_s)
        height, width = image.shape[:2]
        box = np.array([[width / 3, height / 3, 2 * width / 3, 2 * height / 3]], np.float32)
        return Detections.create(box, [0.99], ObjectClass.FACE)


def fake_pipeline(config: PipelineConfig) -> Pipeline:
    """Return a pipeline for ``config`` whose detector hides the centre of each frame."""
    return open_pipeline(config, detector=CenterDetector())


def slow_fake_pipeline(config: PipelineConfig) -> Pipeline:
    """Like fake_pipeline, at 0.15 s per frame, so a job stays running long enough to be interrupted."""
    return open_pipeline(config, detector=CenterDetector(delay_s=0.15))
