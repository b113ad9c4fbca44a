"""``veil stream`` and ``veil edge`` with ``--method obfuscator``: every frame through the network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import av
import numpy as np
import pytest

from obfuscator_graphs import (
    inverted,
    mean_difference,
    write_failing_obfuscator,
    write_gradient_clip,
    write_inverting_obfuscator,
)
from veil.live.loopback import StreamSender
from veil.service import ServiceSettings, create_app
from veil.service.blobs import BlobKind
from veil.service.keys import Scope

VEIL = Path(sys.executable).parent / "veil"
FRAMES = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _veil(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *map(str, args)], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )


def _stream(clip: Path, out: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Send ``clip`` live over loopback TCP to ``veil stream`` and return the finished command."""
    port = _free_port()
    sender = StreamSender(clip, f"tcp://127.0.0.1:{port}", connect_timeout_s=60).start()
    try:
        listen = f"tcp://127.0.0.1:{port}?listen=1"
        budget = ("--latency-budget-ms", "60000")  # a frame is dropped only when the queue overflows
        return _veil("stream", listen, "-o", out, "--json", "--open-timeout", "60", *budget, *args)
    finally:
        sender.stop()
        sender.join(20)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_gradient_clip(tmp_path / "camera.mp4", frames=FRAMES)


def test_stream_sends_every_frame_through_the_network(clip: Path, tmp_path: Path) -> None:
    model = write_inverting_obfuscator(tmp_path / "invert.onnx")
    out = tmp_path / "live.ts"
    result = _stream(clip, out, "--method", "obfuscator", "--obfuscator", model)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Each frame read is obfuscated and sent, or dropped (a frame that waited too long: never sent raw).
    assert report["frames_read"] == FRAMES
    assert report["frames_read"] == report["frames_anonymized"] + report["frames_dropped"]
    assert report["frames_written"] == report["frames_anonymized"] > FRAMES // 2
    assert report["frames_detected"] == report["frames_propagated"] == report["frames_hidden_whole"] == 0
    negatives = [inverted(raw) for raw in _decoded(clip)]
    received = _decoded(out)
    assert len(received) == report["frames_written"]
    matched = []
    for safe in received:
        # The moving square tells the frames apart: each sent frame is the negative of one camera frame.
        distances = [mean_difference(safe, negative) for negative in negatives]
        matched.append(int(np.argmin(distances)))
        assert min(distances) < 6  # the network's output, up to two lossy encodings
        assert mean_difference(safe, 255 - negatives[matched[-1]]) > 40  # and far from the raw frame
    assert matched == sorted(set(matched))  # in order, none twice


def test_a_model_error_mid_stream_aborts_and_leaves_no_output(clip: Path, tmp_path: Path) -> None:
    model = write_failing_obfuscator(tmp_path / "fails.onnx")  # loads, then fails on the camera's size
    out = tmp_path / "live.ts"
    result = _stream(clip, out, "--method", "obfuscator", "--obfuscator", model)
    assert result.returncode == 6, result.stderr  # PrivacyError: nothing could be guaranteed
    assert "whole-frame anonymization" in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_hide_frame_sends_hidden_frames_in_place_of_failed_ones(clip: Path, tmp_path: Path) -> None:
    model = write_failing_obfuscator(tmp_path / "fails.onnx")
    out = tmp_path / "live.ts"
    result = _stream(clip, out, "--method", "obfuscator", "--obfuscator", model, "--on-error", "hide-frame")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["frames_read"] == report["frames_anonymized"] + report["frames_dropped"] == FRAMES
    assert report["frames_hidden_whole"] == report["frames_anonymized"] == report["frames_written"]
    received = _decoded(out)
    assert len(received) == report["frames_written"] > FRAMES // 2
    assert np.abs(np.diff(_decoded(clip)[0].astype(int), axis=1)).max() > 100  # the square's edges
    for safe in received:
        assert np.abs(np.diff(safe.astype(int), axis=1)).max() < 40  # a coarse colour wash: no edges


def test_stream_refuses_a_file_that_is_not_an_obfuscator(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    listen = "tcp://127.0.0.1:9?listen=1"
    result = _veil("stream", listen, "-o", tmp_path / "o.ts", "--method", "obfuscator", "--obfuscator", junk)
    assert result.returncode == 3, result.stderr
    assert not (tmp_path / "o.ts").exists()


def test_serve_checks_its_obfuscator_before_serving(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    port = str(_free_port())
    data = tmp_path / "data"
    result = _veil("serve", "--data-dir", data, "--insecure", "--port", port, "--obfuscator", junk)
    assert result.returncode == 3, result.stderr
    assert "junk.onnx" in result.stderr


def test_edge_uploads_only_obfuscated_segments(
    clip: Path, tmp_path: Path, serve_app: Callable[..., AbstractContextManager[str]]
) -> None:
    model = write_inverting_obfuscator(tmp_path / "invert.onnx")
    settings = ServiceSettings(
        data_dir=tmp_path / "data", workers=0, pipeline_factory="veil.service.fakes:fake_pipeline"
    )
    app = create_app(settings)
    with serve_app(app) as url:
        context = app.state.veil
        key = context.state.keys.create("camera-9", frozenset({Scope.SUBMIT}), "acme").token
        result = _veil(
            "edge", clip, "--server", url, "--key", key, "--stream-id", "cam9", "--segment-s", "0.6",
            "--method", "obfuscator", "--obfuscator", model,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        jobs = sorted(context.state.jobs.recent("acme"), key=lambda job: job.input_name)
        uploaded: list[np.ndarray] = []
        for job in jobs:  # what left the camera: the uploads as the server stored them
            plain = tmp_path / f"{job.id}.mp4"
            context.state.blobs.decrypt_to(job.id, BlobKind.UPLOAD, plain)
            uploaded.extend(_decoded(plain))
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert (summary["frames"], summary["segments"], len(jobs)) == (FRAMES, 2, 2)
    sent = _decoded(clip)
    assert len(uploaded) == len(sent) == FRAMES  # 15 frames a segment, none lost
    for raw, shipped in zip(sent, uploaded, strict=True):
        assert mean_difference(shipped, inverted(raw)) < 6  # the network's output, encoded once
        assert mean_difference(shipped, raw) > 40
