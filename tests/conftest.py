"""Shared fixtures: where the real models and media live (../shared beside the checkout)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_dir():
        pytest.fail(
            f"{env} points at {path}, which does not exist: integration tests need ../shared beside the repo"
        )
    return path


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep what runs write to Veil's cache folder (rewritten models) out of the user's own."""
    saved = os.environ.get("VEIL_CACHE_DIR")
    os.environ["VEIL_CACHE_DIR"] = str(tmp_path_factory.mktemp("veil-cache"))
    yield
    if saved is None:
        os.environ.pop("VEIL_CACHE_DIR", None)
    else:
        os.environ["VEIL_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Folder with the real model files (VEIL_MODELS_DIR, default ../shared/models)."""
    return _shared_dir("VEIL_MODELS_DIR", REPO.parent / "shared" / "models")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder with the real test media (VEIL_DATA_DIR, default ../shared/data)."""
    return _shared_dir("VEIL_DATA_DIR", REPO.parent / "shared" / "data")


# --- Servers on loopback (service, live streams) ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _serving(app: Any, **config: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yield its URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start within 30 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """Return a function giving a loopback TCP port nobody listens on."""
    return _free_port


@pytest.fixture(scope="session")
def serve_app() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """Return a context manager that serves an ASGI app on loopback and yields its URL."""
    return _serving


# --- Synthetic media (video I/O) -------------------------------------------------------------------------

_VFR_PATTERN = (1, 2, 1, 3)  # frame periods between successive frames of a variable-frame-rate clip


class MakeVideo(Protocol):
    """Write a synthetic clip under tmp_path and return its path."""

    def __call__(
        self,
        name: str = "clip.mp4",
        *,
        width: int = 64,
        height: int = 48,
        fps: int | Fraction = 25,
        frames: int = 10,
        vfr: bool = False,
        audio: bool = False,
        title: str | None = None,
        location: str | None = None,
        rotation: int = 0,
        codec: str = "libx264",
    ) -> Path: ...


def _synthetic_frame(index: int, width: int, height: int) -> np.ndarray:
    """Return frame ``index`` of the synthetic clip: a textured square moving over a textured background."""
    rng = np.random.default_rng(1234)
    image = rng.integers(40, 200, size=(height, width, 3), dtype=np.uint8)
    side = max(4, min(width, height) // 3)
    x = (index * 3) % max(1, width - side)
    y = (index * 2) % max(1, height - side)
    yy, xx = np.mgrid[0:side, 0:side]
    checker = (((yy // 4) + (xx // 4)) % 2).astype(np.uint8) * 200 + 30
    image[y : y + side, x : x + side] = checker[..., None]
    return image


def _synthetic_pts(frames: int, fps: Fraction, vfr: bool) -> tuple[list[int], Fraction]:
    """Return the presentation timestamps and time base the synthetic clip is written with."""
    if not vfr:
        return list(range(frames)), 1 / fps
    period = Fraction(1) / fps
    time_base = Fraction(1, 1000)
    step = period / time_base
    if step.denominator != 1:
        raise ValueError(f"vfr clips need 1000/fps to be whole; got fps={fps}")
    pts, now = [], 0
    for i in range(frames):
        pts.append(now)
        now += int(step) * _VFR_PATTERN[i % len(_VFR_PATTERN)]
    return pts, time_base


def _write_video(
    path: Path,
    *,
    width: int,
    height: int,
    fps: Fraction,
    frames: int,
    vfr: bool,
    audio: bool,
    title: str | None,
    location: str | None,
    rotation: int,
    codec: str,
) -> None:
    pts_list, time_base = _synthetic_pts(frames, fps, vfr)
    raw = path.suffix in {".h264", ".264"}
    with av.open(str(path), "w", format="h264" if raw else None) as out:
        if title is not None:
            out.metadata["title"] = title
        if location is not None:
            out.metadata["location"] = location
        video = out.add_stream(codec, rate=fps)
        video.width, video.height = width, height
        # 4:2:0 cannot hold odd sizes; 4:4:4 keeps every pixel. Intra-only image codecs want RGB.
        even = width % 2 == 0 and height % 2 == 0
        video.pix_fmt = "rgb24" if codec == "png" else "yuv420p" if even else "yuv444p"
        video.codec_context.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000, layout="mono") if audio else None
        for index, pts in enumerate(pts_list):
            frame = av.VideoFrame.from_ndarray(_synthetic_frame(index, width, height), format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = int((pts_list[-1] * time_base + 1 / fps) * 48000)
            t = np.arange(samples, dtype=np.float32) / 48000
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = wave[None, start : start + 1024]
                aframe = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                aframe.sample_rate = 48000
                aframe.pts, aframe.time_base = start, Fraction(1, 48000)
                out.mux(sound.encode(aframe))
            out.mux(sound.encode(None))


@pytest.fixture
def make_video(tmp_path: Path) -> MakeVideo:
    """Factory: write a synthetic clip (moving textured square) with PyAV and return its path.

    The suffix picks the container (.mp4, .mkv, .mov, .avi, or raw .h264); ``codec`` the encoder (libx264,
    or e.g. png for an intra-only stream whose frames decode independently). ``vfr`` spaces frames by
    1, 2, 1, 3 frame periods; ``audio`` adds a 440 Hz AAC track as long as the video; ``title`` and
    ``location`` (ISO 6709, e.g. "+48.8584+002.2945/") go into the container metadata; ``rotation``
    (degrees counter-clockwise) into the display matrix.
    """

    def make(
        name: str = "clip.mp4",
        *,
        width: int = 64,
        height: int = 48,
        fps: int | Fraction = 25,
        frames: int = 10,
        vfr: bool = False,
        audio: bool = False,
        title: str | None = None,
        location: str | None = None,
        rotation: int = 0,
        codec: str = "libx264",
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_video(
            path,
            width=width,
            height=height,
            fps=Fraction(fps),
            frames=frames,
            vfr=vfr,
            audio=audio,
            title=title,
            location=location,
            rotation=rotation,
            codec=codec,
        )
        return path

    return make


# --- The learned obfuscator -------------------------------------------------------------------------------


@pytest.fixture
def tiny_detector(tmp_path: Path) -> Path:
    """A YOLOX-shaped stand-in detector graph (random weights) in tmp_path; needs the train extra."""
    from obfuscation_fixtures import write_tiny_detector

    return write_tiny_detector(tmp_path / "tiny_detector.onnx")
