"""``veil remove`` as a user runs it: help, one-line errors, exit codes, a run from a detections file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av

from conftest import MakeVideo
from veil.detections import Detections
from veil.pipeline.detections_json import FrameDetections, write_detections
from veil.types import ObjectClass

VEIL = Path(sys.executable).parent / "veil"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *map(str, args)], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def test_help_lists_the_issue_options() -> None:
    result = run("remove", "--help")
    assert result.returncode == 0
    for option in ("--targets", "--track-id", "--static", "--box", "--detections", "--shadow-margin"):
        assert option in result.stdout


def test_a_malformed_box_is_a_usage_error(tmp_path: Path, make_video: MakeVideo) -> None:
    src = make_video(frames=2)
    result = run("remove", src, "-o", tmp_path / "o.mp4", "--box", "1,2,3")
    assert result.returncode == 2
    assert "x1,y1,x2,y2" in result.stderr


def test_static_without_a_box_or_track_is_a_usage_error(tmp_path: Path, make_video: MakeVideo) -> None:
    src = make_video(frames=2)
    result = run("remove", src, "-o", tmp_path / "o.mp4", "--static")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("veil: ") and "box_xyxy or track_id" in result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_missing_input_is_an_input_error(tmp_path: Path) -> None:
    result = run("remove", tmp_path / "nope.mp4", "-o", tmp_path / "o.mp4")
    assert result.returncode == 4
    assert "no such file" in result.stderr


def test_remove_from_a_detections_file(tmp_path: Path, make_video: MakeVideo) -> None:
    src = make_video(frames=6, width=64, height=48)
    regions = tmp_path / "clip.detections.json"
    rows = [
        FrameDetections(
            i, i, i / 25, Detections.create([[40, 20, 56, 40]], [0.9], ObjectClass.PERSON, track_ids=[7])
        )
        for i in range(6)
    ]
    write_detections(regions, "clip.mp4", 64, 48, rows)
    dst = tmp_path / "clean.mp4"
    result = run("remove", src, "-o", dst, "--detections", regions, "--track-id", "7", "--window", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["frames_written"] == 6 and report["frames_with_mask"] == 6
    with av.open(str(dst)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 6
