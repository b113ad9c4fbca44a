"""``veil train obfuscator`` and ``veil anonymize --method obfuscator`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from conftest import MakeVideo
from media_matrix import audio_span, frame_count, presentation_times
from obfuscation_fixtures import write_tiny_detector
from veil.obfuscation.export import export_onnx
from veil.obfuscation.network import Obfuscator

VEIL = Path(sys.executable).parent / "veil"


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def model(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "obfuscator.onnx"
    export_onnx(Obfuscator(), path)
    return path


def test_video_keeps_frames_timestamps_and_audio(make_video: MakeVideo, model: Path, tmp_path: Path) -> None:
    src = make_video("clip.mp4", width=96, height=72, frames=12, audio=True)
    dst = tmp_path / "out.mp4"
    result = run("anonymize", src, "-o", dst, "--method", "obfuscator", "--obfuscator", model, "-q")
    assert result.returncode == 0, result.stderr
    assert frame_count(dst) == frame_count(src) == 12
    assert presentation_times(dst) == presentation_times(src)
    assert audio_span(dst) is not None and audio_span(src) is not None


def test_image_is_transformed_whole(model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    PILImage.fromarray(pixels).save(src)
    result = run("anonymize", src, "-o", dst, "--method", "obfuscator", "--obfuscator", model, "-q")
    assert result.returncode == 0, result.stderr
    out = np.asarray(PILImage.open(dst))
    assert out.shape == pixels.shape
    # Everywhere changed, not regions: random pixels cannot pass O's low-frequency codec.
    assert (np.abs(out.astype(int) - pixels).sum(axis=2) > 0).mean() > 0.95


def test_a_detector_model_is_refused_naming_what_was_expected(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("clip.mp4")
    detector = write_tiny_detector(tmp_path / "detector.onnx")
    result = run(
        "anonymize", src, "-o", tmp_path / "o.mp4", "--method", "obfuscator", "--obfuscator", detector
    )
    assert result.returncode == 3
    assert "expected one float32 input N×3×H×W" in result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_method_and_model_go_together(make_video: MakeVideo, model: Path, tmp_path: Path) -> None:
    src = make_video("clip.mp4")
    missing = run("anonymize", src, "-o", tmp_path / "a.mp4", "--method", "obfuscator")
    assert missing.returncode == 2 and "--obfuscator" in missing.stderr
    stray = run("anonymize", src, "-o", tmp_path / "b.mp4", "--obfuscator", model)
    assert stray.returncode == 2 and "only with method obfuscator" in stray.stderr


def test_training_on_a_folder_without_frames_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no pictures here")
    result = run("train", "obfuscator", tmp_path, "-o", tmp_path / "m.onnx")
    assert result.returncode == 2
    assert "no frames to train on" in result.stderr


def test_help_and_plain_cli_never_import_torch() -> None:
    code = "import sys, veil, veil.api, veil.cli.main; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    assert run("train", "obfuscator", "--help").returncode == 0


@pytest.mark.integration
def test_train_exports_a_model_that_applies(make_video: MakeVideo, models_dir: Path, tmp_path: Path) -> None:
    src = make_video("clip.mp4", width=160, height=96, frames=8)
    out = tmp_path / "m.onnx"
    args = ["train", "obfuscator", src, "-o", out, "--per-video", "4", "--epochs", "1", "--batch-size", "4"]
    result = run(*args, "--threads", "1", "--models-dir", models_dir)
    assert result.returncode == 0, result.stderr
    work = tmp_path / "m.onnx.train"
    assert {p.name for p in work.iterdir()} >= {"checkpoint.pt", "log.csv", "log.json", "losses.png"}
    applied = run("anonymize", src, "-o", tmp_path / "o.mp4", "--method", "obfuscator", "--obfuscator", out)
    assert applied.returncode == 0, applied.stderr
    assert frame_count(tmp_path / "o.mp4") == 8
