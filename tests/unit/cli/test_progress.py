from __future__ import annotations

import pytest

from veil.cli.progress import LineProgress


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
