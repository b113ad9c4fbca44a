from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from veil.api import LiveReport, RunReport, StageTime
from veil.cli.reporting import check_report_path, emit_report, live_summary


def test_the_report_goes_to_stdout_and_the_file_and_the_summary_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = RunReport(inputs=1, frames_read=3, frames_written=3, warnings=["clip.mp4: cut off"])
    saved = tmp_path / "run.json"
    emit_report(
        report, "3 frames", json_report=True, report_path=saved, quiet=False, warnings=report.warnings
    )
    out, err = capsys.readouterr()
    assert json.loads(out) == json.loads(saved.read_text()) == report.to_dict()
    assert err == "veil: 3 frames\nveil: warning: clip.mp4: cut off\n"


def test_quiet_keeps_stderr_empty_and_stdout_holds_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    emit_report(RunReport(), "nothing", json_report=True, report_path=None, quiet=True)
    out, err = capsys.readouterr()
    assert json.loads(out)["inputs"] == 0 and err == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing/run.json", "does not exist"), ("in.mp4", "input itself"), ("out.mp4", "output itself")],
)
def test_a_report_path_that_cannot_work_is_refused_before_the_run(
    tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(click.BadParameter, match=message):
        check_report_path(tmp_path / name, inputs=(tmp_path / "in.mp4",), outputs=(tmp_path / "out.mp4",))


def test_live_summary_names_what_was_sent_dropped_and_how_late() -> None:
    report = LiveReport(source="rtsp://cam", destination="out.ts", frames_read=10, frames_dropped=2)
    report.frames_anonymized = report.frames_written = 8
    report.latency.add(20.0)
    report.ended_by = "interrupted"
    line = live_summary(report)
    assert line.startswith("8 frames sent to out.ts in 0.0 s (8 anonymized, 2 dropped, 0 repeated, 0 late)")
    assert line.endswith("latency p50 20.0 ms, p95 20.0 ms; ended: interrupted")


def test_profile_table_lists_each_stage_and_the_whole_run() -> None:
    from veil.cli.reporting import profile_table

    report = RunReport(
        frames_read=10,
        elapsed_s=2.0,
        stage_times={"decode": StageTime(0.5, 0.25, 10), "encode": StageTime(1.0, 0.9, 11)},
    )
    lines = profile_table(report).splitlines()
    assert lines[1].split() == ["decode", "0.50", "0.25", "10", "50.0"]
    assert lines[2].split()[0] == "encode" and lines[-1].split() == ["whole", "run", "2.00", "10"]
    assert "no stage was timed" in profile_table(RunReport())
