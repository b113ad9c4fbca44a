"""Core value types shared by every stage: images, frames, classes and video facts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["Frame", "Image", "Mask", "ObjectClass", "Origin", "VideoInfo"]

Image: TypeAlias = npt.NDArray[np.uint8]
"""H×W×3 uint8 RGB, C-contiguous: the one pixel convention inside Veil."""

Mask: TypeAlias = npt.NDArray[np.bool_]
"""H×W bool: True where a pixel belongs to a region."""


class ObjectClass(enum.Enum):
    """What a region shows; the value is the name used on the command line and in JSON."""

    FACE = "face"
    PERSON = "person"
    LICENSE_PLATE = "plate"
    VEHICLE = "vehicle"
    TEXT = "text"

    @classmethod
    def parse(cls, name: str) -> ObjectClass:
        """Return the class called ``name`` (case-insensitive); raise ValueError listing valid names."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            valid = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown class {name!r}; valid classes: {valid}") from None


class Origin(enum.Enum):
    """Whether a region came from a detector on this frame or was carried from another frame."""

    DETECTED = "detected"
    PROPAGATED = "propagated"
    REVIEWED = "reviewed"


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame with its position in the stream.

    ``pts`` is in units of ``time_base`` seconds; ``None`` for sources without timestamps.
    """

    image: Image
    index: int
    pts: int | None = None
    time_base: Fraction | None = None

    @property
    def time_s(self) -> float | None:
        """Presentation time in seconds, when known."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a reader knows about a video stream before decoding it."""

    width: int
    height: int
    frame_rate: Fraction
    frame_count: int | None
    has_audio: bool
    rotation_deg: int = 0
    codec: str = ""
