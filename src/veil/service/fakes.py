"""Pipelines with a scripted detector, for tests and dry runs of the service: no model files needed."""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from veil.api import Pipeline, PipelineConfig, open_pipeline
from veil.detections import Detections
from veil.types import Image, ObjectClass

__all__ = [
    "CenterDetector",
    "CrashingDetector",
    "crash_mid_run_pipeline",
    "crash_on_open_pipeline",
    "fake_pipeline",
    "slow_fake_pipeline",
]


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


class CrashingDetector(CenterDetector):
    """Kill the process (SIGKILL, as the out-of-memory killer does) on the ``crash_at``-th detection."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self._left = crash_at

    def detect(self, image: Image) -> Detections:
        """Detect as CenterDetector does, until the call that kills the process."""
        self._left -= 1
        if self._left <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().detect(image)


def crash_on_open_pipeline(config: PipelineConfig) -> Pipeline:
    """Kill the worker while it loads the pipeline: the job's input is decrypted, nothing else done."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: the process was killed")


def crash_mid_run_pipeline(config: PipelineConfig) -> Pipeline:
    """Kill the worker on its third frame: the input is decrypted and a partial output written."""
    return open_pipeline(config, detector=CrashingDetector(crash_at=3))
