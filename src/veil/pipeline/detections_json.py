"""Read and write the detections JSON: the file a person reviews and corrects between runs.

Layout (one file per input)::

    {"format": "veil-detections/1", "source": "clip.mkv", "width": 1280, "height": 720,
     "frames": [{"index": 0, "pts": 0, "time_s": 0.0,
                 "regions": [{"class": "face", "score": 0.93, "box": [x1, y1, x2, y2],
                              "polygon": [[x, y], ...] | null,
                              "mask": {"size": [h, w], "counts": [...]} | null,
                              "track_id": 7 | null, "origin": "detected"}]}]}

Masks use COCO's uncompressed RLE (column-major runs, starting with background), so pycocotools
and other COCO tools read them. Every frame of the input must appear: a frame missing from a file given
to ``--from-detections`` is an error, not an empty frame (privacy fails closed).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.errors import ConfigError, OutputError
from veil.types import ObjectClass, Origin

__all__ = [
    "FORMAT",
    "DetectionsFile",
    "FrameDetections",
    "mask_from_rle",
    "mask_to_rle",
    "read_detections",
    "write_detections",
]

FORMAT = "veil-detections/1"


@dataclass(frozen=True)
class FrameDetections:
    """The regions of one frame, with its position in the stream."""

    index: int
    pts: int | None
    time_s: float | None
    detections: Detections


@dataclass(frozen=True)
class DetectionsFile:
    """A whole detections file: source facts plus the regions of every frame."""

    source: str
    width: int
    height: int
    frames: tuple[FrameDetections, ...]

    def by_index(self) -> dict[int, Detections]:
        """Return the regions keyed by frame index."""
        return {f.index: f.detections for f in self.frames}


def mask_to_rle(mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """Encode an H×W bool mask as COCO uncompressed RLE (column-major, first run is background)."""
    flat = np.asarray(mask, bool).ravel(order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def mask_from_rle(rle: dict[str, Any]) -> npt.NDArray[np.bool_]:
    """Decode COCO uncompressed RLE into an H×W bool mask."""
    height, width = (int(v) for v in rle["size"])
    counts = np.asarray(rle["counts"], np.int64)
    if counts.sum() != height * width:
        raise ConfigError(f"mask RLE covers {counts.sum()} pixels, expected {height}×{width}")
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape((height, width), order="F")


def _region_to_json(det: Detections, i: int) -> dict[str, Any]:
    polygon = det.polygon(i)
    mask = det.mask(i)
    track = None if det.track_ids is None or det.track_ids[i] < 0 else int(det.track_ids[i])
    return {
        "class": det.labels[i].value,
        "score": round(float(det.scores[i]), 4),
        "box": [round(float(v), 2) for v in det.boxes_xyxy[i]],
        "polygon": None
        if polygon is None
        else [[round(float(x), 2), round(float(y), 2)] for x, y in polygon],
        "mask": None if mask is None or not mask.any() else mask_to_rle(mask),
        "track_id": track,
        "origin": det.origins[i].value,
    }


def frame_to_json(frame: FrameDetections) -> dict[str, Any]:
    """Return the JSON object of one frame."""
    return {
        "index": frame.index,
        "pts": frame.pts,
        "time_s": None if frame.time_s is None else round(frame.time_s, 6),
        "regions": [_region_to_json(frame.detections, i) for i in range(len(frame.detections))],
    }


def write_detections(
    path: Path, source: str, width: int, height: int, frames: Iterable[FrameDetections]
) -> None:
    """Write a detections file atomically (temp file in the same folder, then rename)."""
    body = {
        "format": FORMAT,
        "source": source,
        "width": width,
        "height": height,
        "frames": [frame_to_json(f) for f in frames],
    }
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write detections to {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, separators=(",", ":"))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _region_from_json(region: dict[str, Any], where: str) -> tuple[Any, ...]:
    try:
        cls = ObjectClass.parse(str(region["class"]))
        box = [float(v) for v in region["box"]]
        if len(box) != 4:
            raise ValueError("box needs 4 numbers x1, y1, x2, y2")
        score = float(region.get("score", 1.0))
        origin = Origin(region.get("origin", Origin.REVIEWED.value))
        polygon = region.get("polygon")
        poly = None if polygon is None else np.asarray(polygon, np.float32).reshape(-1, 2)
        mask = None if region.get("mask") is None else mask_from_rle(region["mask"])
        track = region.get("track_id")
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid region: {exc}") from exc
    return cls, box, score, origin, poly, mask, -1 if track is None else int(track)


def _frame_from_json(frame: dict[str, Any], width: int, height: int, where: str) -> FrameDetections:
    regions = [_region_from_json(r, f"{where} frame {frame.get('index')}") for r in frame.get("regions", [])]
    masks = None
    if any(r[5] is not None for r in regions):
        masks = np.stack([r[5] if r[5] is not None else np.zeros((height, width), bool) for r in regions])
        if masks.shape[1:] != (height, width):
            raise ConfigError(f"{where} frame {frame.get('index')}: mask size differs from {width}×{height}")
    det = (
        Detections.create(
            [r[1] for r in regions],
            [r[2] for r in regions],
            [r[0] for r in regions],
            masks=masks,
            polygons=[r[4] for r in regions] if any(r[4] is not None for r in regions) else None,
            track_ids=[r[6] for r in regions] if any(r[6] >= 0 for r in regions) else None,
            origin=[r[3] for r in regions],
        )
        if regions
        else Detections.empty()
    )
    time_s = frame.get("time_s")
    return FrameDetections(
        int(frame["index"]), frame.get("pts"), None if time_s is None else float(time_s), det
    )


def read_detections(path: Path) -> DetectionsFile:
    """Read a detections file, validating it; regions without an origin count as human-reviewed."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read detections file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a Veil detections file (expected format {FORMAT!r})")
    try:
        width, height = int(body["width"]), int(body["height"])
        frames = tuple(_frame_from_json(f, width, height, str(path)) for f in body["frames"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: malformed detections file: {exc}") from exc
    return DetectionsFile(str(body.get("source", "")), width, height, frames)
