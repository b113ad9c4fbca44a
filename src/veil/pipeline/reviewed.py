"""Regions from a detections file (the review loop): every frame must be listed, at the source's size."""

from __future__ import annotations

from pathlib import Path

from veil.detections import Detections
from veil.errors import ConfigError, PrivacyError
from veil.pipeline.detections_json import DetectionsFile
from veil.pipeline.temporal import FrameRegions
from veil.types import Frame

__all__ = ["ReviewedRegions", "listed_regions", "regions_of_frame"]


def listed_regions(file: DetectionsFile, width: int, height: int, source: Path) -> dict[int, Detections]:
    """Return the file's regions by frame index, after checking it was made for ``width``×``height`` frames.

    Raises:
        ConfigError: the file is for frames of another size (its boxes would not line up).
    """
    if (file.width, file.height) != (width, height):
        raise ConfigError(
            f"detections file is for {file.width}×{file.height} frames but {source.name} is {width}×{height}"
        )
    return file.by_index()


def regions_of_frame(given: dict[int, Detections], index: int, source: Path) -> Detections:
    """Return the regions listed for frame ``index``.

    Raises:
        PrivacyError: the frame is not listed; a truncated file must fail, not leave frames unhidden.
    """
    try:
        return given[index]
    except KeyError:
        raise PrivacyError(
            f"the detections file for {source.name} has no entry for frame {index}: "
            "every frame must be listed (an empty list means nothing to hide)"
        ) from None


class ReviewedRegions:
    """The engine of a run from a detections file: each frame with its listed regions, at once."""

    def __init__(self, given: dict[int, Detections], source: Path) -> None:
        self._given = given
        self._source = source

    def push(self, frame: Frame) -> list[FrameRegions]:
        """Return ``frame`` with the regions listed for it."""
        return [FrameRegions(frame, regions_of_frame(self._given, frame.index, self._source), detected=False)]

    def flush(self) -> list[FrameRegions]:
        """Nothing is held back."""
        return []
