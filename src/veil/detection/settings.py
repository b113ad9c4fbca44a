"""How detectors run: input size, tiling, threads and the device."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from veil.checks import check_range
from veil.types import ObjectClass

__all__ = ["DetectionConfig", "DetectorChoices", "Device", "Precision"]


class Device(enum.Enum):
    """Where the ONNX Runtime detectors run."""

    AUTO = "auto"  # CUDA when onnxruntime-gpu sees a GPU, else the CPU
    CPU = "cpu"
    CUDA = "cuda"  # a GPU, or an error naming what to install


class Precision(enum.Enum):
    """The arithmetic the detector models run in."""

    FLOAT32 = "float32"  # the pinned models as published
    # The int8 models `veil models quantize` derived, for the detectors where one exists and agreed with
    # float on held-out frames; float32 for the others (a log line says which).
    INT8 = "int8"


@dataclass(frozen=True)
class DetectionConfig:
    """How detectors run.

    Args:
        detect_long_side_px: frames are resized so their long side is at most this before detection;
            0 keeps full size. Smaller is faster and misses more far-away faces.
        tile: also run face and plate detection on overlapping full-resolution tiles
            (finds small, far-away faces and plates; about 3–6× slower).
        tile_size_px: side of a tile.
        intra_op_threads: ONNX Runtime threads per session (0: automatic, one per session, because
            Veil's stages already run in parallel).
        providers: ONNX Runtime execution providers in order of preference; empty: chosen by ``device``.
        device: CPU, CUDA, or the best available (the ``gpu`` extra brings CUDA); every detector
            model runs in ONNX Runtime (OpenCV only prepares its input), so all of them move.
        face_evidence: an unsure face on a vehicle (with no person around it) or of vehicle size is kept
            only if CenterFace also finds it on a close-up crop (car rears and tail lights are the
            commonest false faces on road footage). False keeps every face the detectors report.
    """

    detect_long_side_px: int = 1280
    tile: bool = False
    tile_size_px: int = 640
    intra_op_threads: int = 0
    providers: tuple[str, ...] = ()
    device: Device = Device.AUTO
    face_evidence: bool = True
    precision: Precision = Precision.FLOAT32

    def __post_init__(self) -> None:
        if self.detect_long_side_px != 0:
            check_range("detect_long_side_px", self.detect_long_side_px, 160, 8192)
        check_range("tile_size_px", self.tile_size_px, 160, 4096)
        check_range("intra_op_threads", self.intra_op_threads, 0, 256)


class DetectorChoices(Protocol):
    """What composing the default detectors reads from a run's configuration (``PipelineConfig`` has it)."""

    @property
    def models_dir(self) -> Path | None:
        """Folder holding model files (else ``VEIL_MODELS_DIR``, then the user cache)."""
        ...

    @property
    def detection(self) -> DetectionConfig:
        """How the detectors run."""
        ...

    @property
    def face_second_opinion(self) -> bool:
        """CenterFace runs beside YuNet on detection frames of video too."""
        ...

    def threshold(self, cls: ObjectClass) -> float:
        """Return the least score a region of ``cls`` needs."""
        ...
