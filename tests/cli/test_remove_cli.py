"""``veil remove`` as a user runs it: help, one-line errors, exit codes, a run from a detections file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

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
    saved = tmp_path / "run.json"
    args = ("--detections", regions, "--track-id", "7", "--window", "2", "--json", "--report", saved)
    result = run("remove", src, "-o", dst, *args)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # on stdout, for `veil remove … --json | jq`
    assert report["frames_written"] == 6 and report["frames_with_mask"] == 6
    assert json.loads(saved.read_text()) == report
    assert result.stderr.startswith("veil: 6 of 6 frames written to ") and "{" not in result.stderr
    with av.open(str(dst)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 6


def _still_clip(path: Path, frames: int) -> Path:
    """Write a clip of one unchanging picture (make_video's noise makes every frame a scene cut)."""
    ys, xs = np.mgrid[0:48, 0:64]
    image = np.dstack([xs * 4, ys * 5, (xs + ys) * 2]).astype(np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(("lookahead", "frames_with_mask"), [("3", 6), ("0", 3)])
def test_lookahead_removes_an_object_before_its_first_detection(
    tmp_path: Path, lookahead: str, frames_with_mask: int
) -> None:
    src = _still_clip(tmp_path / "clip.mp4", 6)
    regions = tmp_path / "clip.detections.json"
    box = Detections.create([[40, 20, 56, 40]], [0.9], ObjectClass.PERSON, track_ids=[7])
    rows = [FrameDetections(i, i, i / 25, box if i >= 3 else Detections.empty()) for i in range(6)]
    write_detections(regions, "clip.mp4", 64, 48, rows)
    args = ("--detections", regions, "--lookahead", lookahead, "--json")
    result = run("remove", src, "-o", tmp_path / "o.mp4", *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames_with_mask"] == frames_with_mask


def test_box_margin_grows_what_is_removed(tmp_path: Path, make_video: MakeVideo) -> None:
    src = make_video(frames=4, width=64, height=48)
    regions = tmp_path / "clip.detections.json"
    box = Detections.create([[24, 16, 40, 32]], [0.9], ObjectClass.PERSON, track_ids=[1])
    write_detections(regions, "clip.mp4", 64, 48, [FrameDetections(i, i, i / 25, box) for i in range(4)])
    ratios = []
    for margin in ("0", "0.5"):
        args = ("--detections", regions, "--box-margin", margin, "--dilate", "0", "--shadow-margin", "0")
        result = run("remove", src, "-o", tmp_path / f"o{margin}.mp4", *args, "--json", "-q")
        assert result.returncode == 0, result.stderr
        ratios.append(json.loads(result.stdout)["masked_pixel_ratio"])
    assert ratios[0] == pytest.approx(16 * 16 / (64 * 48))
    assert ratios[1] == pytest.approx(32 * 32 / (64 * 48))
