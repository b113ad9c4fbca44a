"""Derive the int8 detectors: gather calibration frames from the user's media, quantize, check each."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from veil.detection.quantize import RECIPES, QuantizedModel, find_quantized, quantize_backend
from veil.detection.resize import downscale
from veil.errors import ConfigError, MediaError
from veil.types import Image
from veil.video.image_io import load_image
from veil.video.reader import VideoReader

__all__ = ["FRAMES_PER_VIDEO", "calibration_frames", "quantize_detectors"]

_log = logging.getLogger(__name__)

FRAMES_PER_VIDEO = 16
"""Frames taken from each video, evenly spread over it (half calibrate, half check the agreement)."""

_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
_VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".h264", ".264", ".h265", ".ts"}
)
# Frames are kept at most this large: the detection size of the standard level; the detectors shrink
# them further themselves.
_MAX_LONG_SIDE_PX = 1280
# A video is sampled every this many frames while it is read, so a long one is not held in memory.
_READ_STRIDE = 10
_MAX_PIXELS = 8192 * 8192


def _media_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from (
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES | _VIDEO_SUFFIXES
            )
        elif path.is_file():
            yield path
        else:
            raise ConfigError(f"calibration path {path} does not exist")


def _video_frames(path: Path, count: int) -> list[Image]:
    kept: list[Image] = []
    with VideoReader(path, max_pixels=_MAX_PIXELS, accept_truncated=True) as reader:
        for frame in reader:
            if frame.index % _READ_STRIDE == 0:
                kept.append(downscale(frame.image, _MAX_LONG_SIDE_PX))
    if len(kept) <= count:
        return kept
    picks = np.linspace(0, len(kept) - 1, count).round().astype(int)
    return [kept[i] for i in picks]


def calibration_frames(paths: Sequence[Path], *, frames_per_video: int = FRAMES_PER_VIDEO) -> list[Image]:
    """Return RGB frames from ``paths`` (images, videos, or folders of them, searched recursively).

    Each image gives one frame, each video ``frames_per_video`` spread over its length; frames are
    shrunk to a long side of 1280. Files that cannot be read are skipped with a warning.

    Raises:
        ConfigError: a path does not exist, or no frame could be read from any of them.
    """
    frames: list[Image] = []
    for path in _media_files(paths):
        try:
            if path.suffix.lower() in _IMAGE_SUFFIXES:
                frames.append(downscale(load_image(path, max_pixels=_MAX_PIXELS).image, _MAX_LONG_SIDE_PX))
            else:
                frames.extend(_video_frames(path, frames_per_video))
        except MediaError as exc:
            _log.warning("skipping %s for calibration: %s", path, exc)
    if not frames:
        names = ", ".join(str(p) for p in paths)
        raise ConfigError(f"no image or video frame could be read from {names} for calibration")
    return frames


def quantize_detectors(
    calibration: Sequence[Path],
    *,
    models_dir: Path | None = None,
    backends: Sequence[str] | None = None,
    force: bool = False,
) -> list[QuantizedModel]:
    """Derive the int8 model of each backend (default: every one with a recipe) and check its agreement.

    The frames of ``calibration`` are split in two alternately: one half calibrates, the other measures
    the agreement with float. A checked int8 model already in the cache is kept unless ``force``; frames
    are read only when one must be derived.

    Raises:
        ModelNotFoundError: a float model file is missing (the message names it).
        ConfigError: no frame could be read from ``calibration``.
        ModelError: a model cannot be quantized.
        OSError: the cache folder cannot be written.
    """
    names = list(RECIPES) if backends is None else list(backends)
    frames: list[Image] | None = None
    results: list[QuantizedModel] = []
    for name in names:
        # A checked model in the cache needs no frames; reading them is most of the work otherwise.
        kept = None if force else find_quantized(name, models_dir=models_dir)
        if kept is not None:
            results.append(kept)
            continue
        if frames is None:
            frames = calibration_frames(calibration)
            _log.info("calibration: %d frames from %d path(s)", len(frames), len(calibration))
        results.append(quantize_backend(name, frames[0::2], frames[1::2], models_dir=models_dir))
    return results
