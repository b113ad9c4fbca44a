"""The ``veil`` command in scripts and batch jobs: reports on stdout or in a file, folder runs that
list every file they could not use, paths checked before work starts, runs that do not step on each
other, SIGTERM, and missing optional extras."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from test_cli import VEIL, run

from media_matrix import ClipSpec, frame_count, write_clip

pytestmark = pytest.mark.integration


def _jpeg(path: Path) -> Path:
    PILImage.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(path)
    return path


def test_folder_run_lists_every_file_it_could_not_use_and_exits_7(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _jpeg(folder / "good.jpg")
    clip = write_clip(folder, ClipSpec("cut.mp4", frames=30))
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    (folder / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("camera 7, north gate")
    result = run("anonymize", folder, "-o", tmp_path / "out", "--json")
    assert result.returncode == 7, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"] == 4
    failed = sorted(line.split(":")[0] for line in report["failures"])
    assert failed == ["cut.mp4", "empty.jpg", "noise.mp4"]
    assert (tmp_path / "out" / "good.jpg").exists()
    assert any("not images or videos" in w for w in report["warnings"])
    for name in failed:
        assert f"veil: failed: {name}" in result.stderr


def test_json_on_stdout_summary_on_stderr_and_report_file(tmp_path: Path) -> None:
    src = _jpeg(tmp_path / "a.jpg")
    report_file = tmp_path / "run.json"
    result = run("anonymize", src, "-o", tmp_path / "b.jpg", "--json", "--report", report_file)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["frames_written"] == 1
    assert json.loads(report_file.read_text()) == printed
    assert result.stderr.startswith("veil: 1 of 1 frames written from 1 input")


def test_detect_only_checks_its_path_before_loading_anything(tmp_path: Path) -> None:
    src = write_clip(tmp_path, ClipSpec("clip.mp4", frames=5))
    empty = tmp_path / "models"
    empty.mkdir()
    env = {"VEIL_MODELS_DIR": str(empty), "VEIL_CACHE_DIR": str(tmp_path / "cache"), "VEIL_OFFLINE": "1"}
    result = run("anonymize", src, "--detect-only", "-o", tmp_path / "missing" / "x.mp4", env=env)
    assert result.returncode == 5, result.stderr  # the folder, not the (missing) models
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("output", "written"),
    [(None, "clip.detections.json"), ("regions.json", "regions.json"), ("x.mp4", "x.detections.json")],
)
def test_detect_only_output_names_the_json(tmp_path: Path, output: str | None, written: str) -> None:
    src = write_clip(tmp_path, ClipSpec("clip.mp4", frames=5))
    args = [] if output is None else ["-o", tmp_path / output]
    result = run("anonymize", src, "--detect-only", *args, "-q")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / written).read_text())["format"] == "veil-detections/1"
    assert not (tmp_path / "x.mp4").exists()


def test_detect_only_on_a_folder_writes_each_json_beside_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    _jpeg(folder / "a.jpg")
    (folder / "sub").mkdir()
    _jpeg(folder / "sub" / "b.jpg")
    result = run("anonymize", folder, "--detect-only")
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.json")) == [
        "a.detections.json",
        "sub/b.detections.json",
    ]
    assert result.stderr.startswith("veil: detections of 2 frames from 2 inputs written")
    # Before, the default -o was a folder named photos.detections.json beside the input.
    assert not (tmp_path / "photos.detections.json").exists()


def test_two_runs_to_one_output_publish_one_whole_video(tmp_path: Path) -> None:
    short = write_clip(tmp_path, ClipSpec("short.mp4", frames=30))
    long = write_clip(tmp_path, ClipSpec("long.mp4", frames=75))
    dst = tmp_path / "out.mp4"
    runs = [
        subprocess.Popen([str(VEIL), "anonymize", src, "-o", dst, "-q"], stderr=subprocess.PIPE, text=True)
        for src in (short, long)
    ]
    for process in runs:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    assert frame_count(dst) in {30, 75}
    assert not list(tmp_path.glob(".*partial*"))


def _start_writing(src: Path, dst: Path) -> subprocess.Popen[str]:
    """Start ``veil anonymize src -o dst`` and return once it is writing its partial file."""
    process = subprocess.Popen(
        [str(VEIL), "anonymize", src, "-o", dst, "-q"], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not list(dst.parent.glob(".*partial*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(dst.parent.glob(".*partial*")), "the run never started writing"
    time.sleep(1.0)
    return process


@pytest.mark.parametrize(
    ("stop", "times", "code", "said"),
    [
        (signal.SIGTERM, 1, 143, "veil: terminated"),
        (signal.SIGTERM, 2, 143, "veil: terminated"),  # a supervisor asking twice
        (signal.SIGINT, 2, 130, "veil: interrupted"),  # Ctrl-C pressed twice
    ],
    ids=["sigterm", "sigterm-twice", "sigint-twice"],
)
def test_a_stopped_run_cleans_up_and_exits_with_the_signals_code(
    data_dir: Path, tmp_path: Path, stop: signal.Signals, times: int, code: int, said: str
) -> None:
    dst = tmp_path / "out.mp4"
    process = _start_writing(data_dir / "video" / "vtest_pets_480x360.avi", dst)
    for _ in range(times):  # a second signal lands in the clean-up; it must not cut it short
        process.send_signal(stop)
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert said in stderr and "Traceback" not in stderr
    assert not dst.exists() and not list(tmp_path.glob(".*partial*"))


def test_sigterm_ends_a_stream_like_ctrl_c_and_keeps_its_file(data_dir: Path, tmp_path: Path) -> None:
    dst = tmp_path / "live.ts"
    src = data_dir / "video" / "vtest_pets_480x360.avi"
    process = subprocess.Popen(
        [str(VEIL), "stream", src, "-o", dst, "--realtime", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".*partial*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["ended_by"] == "interrupted" and report["frames_written"] > 0
    assert frame_count(dst) == report["frames_written"]
    assert not list(tmp_path.glob(".*partial*"))


def test_a_killed_runs_leftover_is_hidden_never_read_and_swept_by_the_next_run(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "clip.mp4"
    process = _start_writing(data_dir / "video" / "vtest_pets_480x360.avi", dst)
    process.kill()  # SIGKILL: nothing can clean up
    process.communicate(timeout=60)
    (leftover,) = out.iterdir()
    assert leftover.name.startswith(".clip.") and leftover.name.endswith(".partial.mp4")
    # A folder run over the output folder never takes the leftover for an output (nor for a failure).
    result = run("anonymize", out, "-o", tmp_path / "again", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"] == 0 and report["failures"] == []
    assert report["warnings"] == [f"no images or videos in {out} (1 hidden file(s) not looked at)"]
    # The next run to the same output publishes its own video and removes what the killed one left.
    short = write_clip(tmp_path, ClipSpec("short.mp4", frames=10))
    result = run("anonymize", short, "-o", dst, "-q")
    assert result.returncode == 0, result.stderr
    assert frame_count(dst) == 10
    assert list(out.iterdir()) == [dst]


def _without(tmp_path: Path, module: str) -> dict[str, str]:
    """An environment in which importing ``module`` fails as if it were not installed."""
    fake = tmp_path / "site" / module
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ModuleNotFoundError('no {module}', name={module!r})\n")
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}


def test_audit_without_its_extra_is_exit_3_with_both_install_commands(tmp_path: Path) -> None:
    src = _jpeg(tmp_path / "a.jpg")
    result = run("audit", src, "--original", src, env=_without(tmp_path, "rapidocr_onnxruntime"))
    assert result.returncode == 3, result.stderr
    assert "pip install 'veil[audit]'" in result.stderr and "pip install -e '.[audit]'" in result.stderr


def test_serve_without_its_extra_is_exit_3_with_both_install_commands(tmp_path: Path) -> None:
    result = run("serve", "--data-dir", tmp_path / "data", "--insecure", env=_without(tmp_path, "fastapi"))
    assert result.returncode == 3, result.stderr
    assert "pip install 'veil[serve]'" in result.stderr and "pip install -e '.[serve]'" in result.stderr


def test_device_cuda_without_a_cuda_runtime_is_exit_3(tmp_path: Path) -> None:
    # CI has no GPU and the CPU build of ONNX Runtime: the run must say what to install, not crash.
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has ONNX Runtime with CUDA; the GPU path is checked on the device machine")
    src = _jpeg(tmp_path / "a.jpg")
    result = run("anonymize", src, "-o", tmp_path / "b.jpg", "--device", "cuda")
    assert result.returncode == 3, result.stderr
    assert "pip install 'veil[gpu]'" in result.stderr
    assert not (tmp_path / "b.jpg").exists()


def test_device_auto_says_where_the_detectors_run(tmp_path: Path) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has ONNX Runtime with CUDA; the GPU path is checked on the device machine")
    src = _jpeg(tmp_path / "a.jpg")
    result = run("-v", "anonymize", src, "-o", tmp_path / "b.jpg", "--device", "auto")
    assert result.returncode == 0, result.stderr
    assert "runs on the CPU (--device auto found no working CUDA" in result.stderr


@pytest.mark.parametrize("command", ["anonymize", "stream"])
def test_help_shows_the_device_choice_and_the_gpu_extra(command: str) -> None:
    text = " ".join(run(command, "--help").stdout.split())
    assert "--device [auto|cpu|cuda]" in text and "pip install 'veil[gpu]'" in text
