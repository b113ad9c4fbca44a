"""Shared by the video benchmarks: the shared clips, and Veil or deface run on them (not a benchmark).

Each run writes into its own folder under ``bench_out``, so later benchmarks can reuse an output
(``--reuse``) instead of anonymizing the same clip at the same level again.

Besides the shared clips there is ``approach``, built in ``bench_out`` from the shared plate photos
(never committed): each photo approaches a moving camera for 1.6 s, its plate growing from 4 % to 30 %
of the frame width on a grey street, so plates are seen at every distance, as from a car behind
another. The shared clips themselves show almost no plate a person could read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from veil.video.reader import VideoReader

REPO = Path(__file__).resolve().parents[1]
BENCH_OUT = REPO / "bench_out"
DATA = Path(os.environ.get("VEIL_DATA_DIR", REPO.parent / "shared" / "data"))
CLIPS = {
    "dashcam": DATA / "video" / "dashcam_highway_640x360.mp4",
    "pets": DATA / "video" / "vtest_pets_480x360.avi",
    "mot20": DATA / "video" / "MOT20-08-raw_shorter.h264",
}
APPROACH_STEMS = (
    "eu1",
    "eu5",
    "eu8",
    "eu10",
    "eu11",
    "test_001",
    "test_005",
    "test_009",
    "test_016",
    "test_030",
)
APPROACH_FRAMES = 40
# approach clip name → frame size: the second has the shared dashcam's resolution, where a far plate's
# characters are a few pixels tall.
APPROACH_SIZES = {"approach": (960, 540), "approach360": (640, 360)}
VEIL = Path(sys.executable).parent / "veil"
DEFACE = BENCH_OUT / "deface-venv" / "bin" / "deface"
MAX_PIXELS = 1 << 26


@dataclass(frozen=True)
class ClipRun:
    """One anonymized copy of a clip: the output video, its detections JSON (Veil only), and its speed."""

    output: Path
    detections: Path | None
    frames_per_s: float | None  # None: reused from an earlier run


def clip_path(name: str) -> Path:
    """Return the file of clip ``name``: a shared clip, or an ``approach`` clip (built on first use)."""
    if name in APPROACH_SIZES:
        width, height = APPROACH_SIZES[name]
        return build_approach(BENCH_OUT / "clips" / f"approach_{width}x{height}.mp4", (width, height))
    try:
        return CLIPS[name]
    except KeyError:
        raise SystemExit(f"unknown clip {name!r}; clips: {', '.join([*CLIPS, *APPROACH_SIZES])}") from None


def build_approach(dst: Path, size: tuple[int, int]) -> Path:
    """Write the ``approach`` clip to ``dst`` (once): each plate photo zooms in towards the camera."""
    if dst.exists():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    plates = DATA / "plates" / "openalpr_eu"
    partial = dst.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        index = 0
        for number, stem in enumerate(APPROACH_STEMS):
            photo = cv2.cvtColor(cv2.imread(str(plates / f"{stem}.jpg")), cv2.COLOR_BGR2RGB)
            fields = (plates / f"{stem}.txt").read_text().split("\t")
            x, y, w, h = (int(v) for v in fields[1:5])
            for t in np.linspace(0.0, 1.0, APPROACH_FRAMES):
                plate_w = width * 0.04 * (0.30 / 0.04) ** t  # geometric: a steady approach
                scale = plate_w / w
                # The plate drifts from one side towards the middle, as a car ahead changing lanes does.
                cx = width * (0.25 + 0.5 * (number % 2)) * (1 - t) + width * 0.5 * t
                cy = height * (0.55 + 0.1 * t)
                picture = _street(width, height)
                _paste(picture, photo, scale, (cx - (x + w / 2) * scale, cy - (y + h / 2) * scale))
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts = index
                index += 1
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    partial.replace(dst)
    return dst


def _street(width: int, height: int) -> npt.NDArray[np.uint8]:
    """Return a grey road under a pale sky: plain, so only the photo holds text."""
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    grey = np.where(rows < 0.4, 200 - 40 * rows, 90 + 30 * rows)
    return np.repeat(np.broadcast_to(grey, (height, width))[:, :, None], 3, axis=2).astype(np.uint8)


def _paste(
    canvas: npt.NDArray[np.uint8], photo: npt.NDArray[np.uint8], scale: float, at: tuple[float, float]
) -> None:
    """Draw ``photo`` scaled by ``scale`` with its top-left corner at ``at`` (clipped to the canvas)."""
    matrix = np.array([[scale, 0.0, at[0]], [0.0, scale, at[1]]], np.float32)
    height, width = canvas.shape[:2]
    mask = np.full(photo.shape[:2], 255, np.uint8)
    warped = cv2.warpAffine(
        photo, matrix, (width, height), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    inside = cv2.warpAffine(mask, matrix, (width, height), flags=cv2.INTER_NEAREST) > 0
    canvas[inside] = warped[inside]


def frame_count(clip: Path) -> int:
    """Return how many frames ``clip`` decodes to."""
    with VideoReader(clip, max_pixels=MAX_PIXELS) as reader:
        return sum(1 for _ in reader)


def run_veil(
    name: str, level: str, runs: Path, *, reuse: bool = False, extra: tuple[str, ...] = ()
) -> ClipRun:
    """Anonymize clip ``name`` at ``level`` with ``veil anonymize --detections`` into ``runs/NAME_LEVEL``."""
    clip = clip_path(name)
    folder = runs / f"{name}_{level}"
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"{clip.stem}.mp4"
    detections = folder / f"{clip.stem}.detections.json"
    if reuse and output.exists() and detections.exists():
        return ClipRun(output, detections, None)
    cmd = [str(VEIL), "anonymize", str(clip), "-o", str(output), "--privacy", level, "--detections", "-q"]
    fps = _timed([*cmd, *extra], frame_count(clip))
    return ClipRun(output, detections, fps)


def run_deface(name: str, runs: Path, *, reuse: bool = False) -> ClipRun | None:
    """Anonymize clip ``name`` with deface at its defaults; ``None`` when deface is not installed."""
    if not DEFACE.exists():
        return None
    clip = clip_path(name)
    folder = runs / f"{name}_deface"
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"{clip.stem}.mp4"
    if reuse and output.exists():
        return ClipRun(output, None, None)
    readable = clip if clip.suffix != ".h264" else as_mp4(clip, folder / f"{clip.stem}.input.mp4")
    fps = _timed([str(DEFACE), str(readable), "-o", str(output)], frame_count(clip))
    return ClipRun(output, None, fps)


def as_mp4(clip: Path, dst: Path) -> Path:
    """Return ``clip`` re-encoded near-losslessly into MP4: deface does not open raw ``.h264`` streams."""
    with VideoReader(clip, max_pixels=MAX_PIXELS) as reader, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=reader.info.frame_rate)
        stream.width, stream.height, stream.pix_fmt = reader.info.width, reader.info.height, "yuv420p"
        stream.options = {"crf": "8", "preset": "veryfast"}
        for index, frame in enumerate(reader):
            picture = av.VideoFrame.from_ndarray(frame.image, format="rgb24")
            picture.pts = index
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return dst


def _timed(cmd: list[str], frames: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return frames / (time.perf_counter() - started)
