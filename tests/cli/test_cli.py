"""The ``veil`` command as a user runs it: help, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import MakeVideo

VEIL = Path(sys.executable).parent / "veil"


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_help_explains_defaults() -> None:
    result = run("anonymize", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "a miss exposes someone" in text
    assert "face,plate" in text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.mp4", "empty"),
        (b"hello, I am text", "fake.mp4", "not"),
    ],
)
def test_bad_input_gets_one_line_and_input_exit_code(
    tmp_path: Path, content: bytes, name: str, message: str
) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    result = run("anonymize", src, "-o", tmp_path / "out.mp4")
    assert result.returncode == 4, result.stderr
    assert result.stderr.startswith("veil: ") and result.stderr.count("\n") == 1
    assert message in result.stderr.lower()
    assert not (tmp_path / "out.mp4").exists()


def test_missing_input(tmp_path: Path) -> None:
    result = run("anonymize", tmp_path / "nope.mp4", "-o", tmp_path / "o.mp4")
    assert result.returncode == 4
    assert "does not exist" in result.stderr


def test_output_equal_to_input_is_refused(make_video: MakeVideo) -> None:
    src = make_video(name="clip.mp4", frames=2)
    before = src.read_bytes()
    result = run("anonymize", src, "-o", src)
    assert result.returncode == 5
    assert "input itself" in result.stderr
    assert src.read_bytes() == before


def test_unknown_class_is_a_usage_error(tmp_path: Path) -> None:
    result = run("anonymize", tmp_path, "-o", tmp_path / "o", "--targets", "face,dog")
    assert result.returncode == 2
    assert "valid classes" in result.stderr


def test_missing_models_name_the_file_and_both_fixes(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    PILImage.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    empty = tmp_path / "models"
    empty.mkdir()
    env = {"VEIL_MODELS_DIR": str(empty), "VEIL_CACHE_DIR": str(tmp_path / "cache"), "VEIL_OFFLINE": "1"}
    result = run("anonymize", image, "-o", tmp_path / "b.png", env=env)
    assert result.returncode == 3, result.stderr
    assert (
        "sha256" in result.stderr and "--models-dir" in result.stderr and "veil models fetch" in result.stderr
    )
    assert not (tmp_path / "b.png").exists()


def test_unwritable_output_location(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="clip.mp4", width=64, height=48, frames=2)
    regions = tmp_path / "regions.json"
    frames = ",".join(f'{{"index": {i}, "regions": []}}' for i in range(2))
    regions.write_text(f'{{"format": "veil-detections/1", "width": 64, "height": 48, "frames": [{frames}]}}')
    target = src / "out.mp4"  # a path under a file: no user, root included, can create it
    result = run("anonymize", src, "-o", target, "--from-detections", regions)
    assert result.returncode == 5, result.stderr
    assert "clip.mp4" in result.stderr


def test_quantize_without_the_float_model_names_the_file(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    PILImage.fromarray(np.zeros((32, 32, 3), np.uint8)).save(frames / "a.png")
    empty = tmp_path / "models"
    empty.mkdir()
    env = {"VEIL_MODELS_DIR": str(empty), "VEIL_CACHE_DIR": str(tmp_path / "cache"), "VEIL_OFFLINE": "1"}
    result = run("models", "quantize", "--calibration", frames, env=env)
    assert result.returncode == 3, result.stderr
    assert "centerface.onnx" in result.stderr and "veil models fetch" in result.stderr
    assert not (tmp_path / "cache" / "models" / "derived").exists()


def test_quantize_without_frames_is_a_usage_error(tmp_path: Path) -> None:
    env = {"VEIL_CACHE_DIR": str(tmp_path / "cache"), "VEIL_DATA_DIR": ""}
    result = run("models", "quantize", env=env)
    assert result.returncode == 2
    assert "--calibration" in result.stderr


def test_anonymize_offers_precision() -> None:
    result = run("anonymize", "--help")
    assert result.returncode == 0
    assert "--precision" in result.stdout and "float32" in result.stdout
