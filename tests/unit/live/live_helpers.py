"""Loopback helpers for the live tests: free ports, a full-frame fake detector, reading outputs back."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from veil.anonymizers.fake import PAINT_RGB
from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.types import Image, ObjectClass


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """Return a port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def whole_frame_detector(delay_s: float = 0.0) -> FakeDetector:
    """A detector that finds one face covering the whole frame, after ``delay_s`` seconds."""

    def detect(_: int, image: Image) -> Detections:
        if delay_s:
            time.sleep(delay_s)
        height, width = image.shape[:2]
        return Detections.create([[0, 0, width, height]], [0.99], ObjectClass.FACE)

    return FakeDetector(detect)


@dataclass(frozen=True)
class OutputFrame:
    time_s: float
    image: Image


def read_frames(path: Path) -> list[OutputFrame]:
    """Decode every frame of ``path`` with its time in seconds."""
    with av.open(str(path)) as container:
        return [
            OutputFrame(float(f.time or 0.0), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)
        ]


def is_painted(image: Image) -> bool:
    """Whether every pixel is the RecordingAnonymizer's paint, up to lossy coding."""
    diff = np.abs(image.astype(np.int16) - np.asarray(PAINT_RGB, np.int16))
    return bool(diff.max() <= 40)
