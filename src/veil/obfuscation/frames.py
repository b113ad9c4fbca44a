"""Collect training and evaluation frames from image files, videos and folders of them.

A video's frames are split by time: the first ``share`` of them can be sampled for training and
the rest is held out (:func:`held_out_frames`), so an evaluation on the same camera never sees a
frame the obfuscator was trained on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from veil.errors import ConfigError
from veil.types import Image
from veil.video.image_io import load_image
from veil.video.probe import MEDIA_SUFFIXES, MediaKind, probe_media
from veil.video.reader import VideoReader

__all__ = ["SampledFrame", "held_out_frames", "media_files", "training_frames"]

_MAX_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class SampledFrame:
    """A frame and where it came from (``index`` 0 for a still image)."""

    image: Image
    source: Path
    index: int


def media_files(inputs: Sequence[Path]) -> list[Path]:
    """Return the files named by ``inputs``: files as given, folders searched for media (sorted).

    Raises:
        ConfigError: an input does not exist.
    """
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return files


def _frame_count(path: Path) -> int:
    with VideoReader(path, max_pixels=_MAX_PIXELS) as reader:
        if reader.info.frame_count is not None:
            return reader.info.frame_count
        return sum(1 for _ in reader)  # raw streams declare no length: count by decoding


def _pick(path: Path, wanted: set[int]) -> Iterator[SampledFrame]:
    with VideoReader(path, max_pixels=_MAX_PIXELS, accept_truncated=True) as reader:
        for frame in reader:
            if frame.index in wanted:
                yield SampledFrame(frame.image, path, frame.index)
            if frame.index >= max(wanted):
                return


def _video_span(path: Path, start_share: float, end_share: float, count: int) -> list[SampledFrame]:
    total = _frame_count(path)
    first, last = int(total * start_share), int(total * end_share)
    if last <= first or count <= 0:
        return []
    wanted = {int(i) for i in np.linspace(first, last - 1, num=min(count, last - first)).round()}
    return list(_pick(path, wanted))


def training_frames(inputs: Sequence[Path], *, per_video: int, share: float) -> list[SampledFrame]:
    """Return still images as they are and ``per_video`` evenly spaced frames of each video's first ``share``.

    Raises:
        ConfigError: no input holds a single frame (the message names the inputs).
        MediaError: a file named explicitly cannot be read.
    """
    frames: list[SampledFrame] = []
    for path in media_files(inputs):
        if probe_media(path) is MediaKind.IMAGE:
            frames.append(SampledFrame(load_image(path, max_pixels=_MAX_PIXELS).image, path, 0))
        else:
            frames.extend(_video_span(path, 0.0, share, per_video))
    if not frames:
        names = ", ".join(str(p) for p in inputs)
        raise ConfigError(
            f"no frames to train on in {names}: give image or video files, or folders holding them"
        )
    return frames


def held_out_frames(path: Path, *, share: float, count: int) -> list[SampledFrame]:
    """Return ``count`` evenly spaced frames of the part of video ``path`` after its first ``share``."""
    return _video_span(path, share, 1.0, count)
