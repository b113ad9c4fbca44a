from __future__ import annotations

import pytest

from veil.api import RunReport
from veil.cli.progress import LineProgress, human_summary
from veil.types import ObjectClass


def test_line_progress_prints_a_line_every_interval_with_rate_and_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = [0.0]
    progress = LineProgress(every_s=5.0, clock=lambda: now[0])
    progress.start("clip.mp4", 100)
    for _ in range(40):
        now[0] += 0.25  # 4 frames per second
        progress.advance()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "veil: clip.mp4: 20/100 frames (20%), 4.0 fps, 20 s left",
        "veil: clip.mp4: 40/100 frames (40%), 4.0 fps, 15 s left",
    ]


def test_line_progress_without_a_total_counts_frames(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    progress = LineProgress(every_s=1.0, clock=lambda: now[0])
    progress.start("live", None)
    now[0] = 2.0
    progress.advance(10)
    assert capsys.readouterr().err == "veil: live: 10 frames, 5.0 fps\n"


def test_the_summary_says_hidden_for_a_run_and_found_for_detect_only() -> None:
    report = RunReport(inputs=1, frames_read=1, frames_written=1, elapsed_s=0.5)
    report.regions[ObjectClass.FACE] = 3
    assert human_summary(report) == (
        "1 of 1 frames written from 1 input in 0.5 s (2.0 fps); regions hidden: 3 face"
    )
    report.frames_written = 0
    assert human_summary(report, detect_only=True) == (
        "detections of 1 frame from 1 input written in 0.5 s (2.0 fps); regions found: 3 face"
    )
