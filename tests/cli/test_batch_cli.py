"""``veil batch`` as a user runs it: the anonymize options, a re-run that reuses, exit 7, bad addresses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import click
from test_cli import run

from batch_clips import long_clip
from media_matrix import presentation_times


def test_a_batch_mirrors_folders_and_a_rerun_reuses_it(tmp_path: Path, models_dir: Path) -> None:
    clip = long_clip(tmp_path / "in", "long.mp4", frames=150)
    long_clip(tmp_path / "in" / "tree" / "day1", "cam.mp4", frames=20, audio=False)
    args = [clip, tmp_path / "in" / "tree", "-o", tmp_path / "out", "--segment", "2", "--detections"]
    first = run("batch", *args, "--targets", "face", "--models-dir", models_dir, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert {
        Path(r["dst"]).relative_to(tmp_path / "out").as_posix(): r["segments"] for r in report["inputs"]
    } == {
        "long.mp4": 3,
        "day1/cam.mp4": 0,
    }
    assert presentation_times(tmp_path / "out" / "long.mp4") == presentation_times(clip)
    assert (tmp_path / "out" / "day1" / "cam.detections.json").exists()
    again = run("batch", *args, "--targets", "face", "--models-dir", models_dir)
    assert again.returncode == 0, again.stderr
    assert "2 of 2 inputs done (2 from an earlier run)" in again.stderr


def test_a_failed_input_is_listed_and_exits_7(tmp_path: Path, models_dir: Path) -> None:
    good = long_clip(tmp_path / "in", "good.mp4", frames=20, audio=False)
    broken = tmp_path / "in" / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")
    result = run("batch", good, broken, "-o", tmp_path / "out", "--models-dir", models_dir, "-q")
    assert result.returncode == 7, result.stderr
    assert "veil: failed: " in result.stderr and "broken.mp4" in result.stderr
    assert (tmp_path / "out" / "good.mp4").exists()


def test_an_unreachable_ray_address_is_a_usage_error_in_seconds(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    clip = long_clip(tmp_path / "in", frames=10, audio=False)
    started = time.monotonic()
    result = run(
        "batch", clip, "-o", tmp_path / "out", "--engine", "ray", "--address", f"127.0.0.1:{free_port()}"
    )
    assert result.returncode == 2, result.stderr
    assert "cannot reach the Ray cluster" in result.stderr
    assert time.monotonic() - started < 30


def test_address_without_ray_is_refused(tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "in", frames=10, audio=False)
    result = run("batch", clip, "-o", tmp_path / "out", "--address", "127.0.0.1:6379")
    assert result.returncode == 2 and "--engine ray" in result.stderr


def test_batch_takes_every_anonymize_option() -> None:
    from veil.cli.batch import batch
    from veil.cli.main import anonymize

    def options(command: click.Command) -> dict[str, tuple[str, ...]]:
        return {p.name or "": tuple(p.opts) for p in command.params if isinstance(p, click.Option)}

    shared = {k: v for k, v in options(anonymize).items() if k not in {"output", "preview"}}
    assert shared.items() <= options(batch).items()
    assert {"engine", "address", "workers", "segment_s"} <= options(batch).keys()
