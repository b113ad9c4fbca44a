"""Batches on the local engine: what SRC names, failures listed, resuming, interrupted runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_clips import SquareDetector, long_clip
from media_matrix import presentation_times
from veil.batch import RUN_DIR, BatchSettings, run_batch
from veil.detections import Detections
from veil.errors import ConfigError
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.types import Image

CONFIG = PipelineConfig()
SETTINGS = BatchSettings(segment_s=2.0)
JSON = RunOptions(write_detections=True)


class CountingDetector(SquareDetector):
    """The square detector, counting its calls; optionally stopping the run (Ctrl-C) at one of them."""

    def __init__(self, interrupt_at: int | None = None, fail_at: int | None = None) -> None:
        super().__init__()
        self.calls = 0
        self.interrupt_at = interrupt_at
        self.fail_at = fail_at

    def detect(self, image: Image) -> Detections:
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        if self.calls == self.fail_at:
            raise RuntimeError("the model failed on this frame")
        return super().detect(image)


def _states(out: Path) -> dict[str, list[tuple[int, str, int]]]:
    """Input name → (segment, state, attempts) of each of its segments, from the manifest."""
    with sqlite3.connect(out / RUN_DIR / "manifest.sqlite") as db:
        rows = db.execute(
            "SELECT i.src, s.number, s.state, s.attempts FROM segments s JOIN inputs i ON i.id = s.input_id"
        ).fetchall()
    found: dict[str, list[tuple[int, str, int]]] = {}
    for src, number, state, attempts in rows:
        found.setdefault(Path(src).name, []).append((number, state, attempts))
    return found


def test_files_folders_globs_and_list_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    single = long_clip(src / "loose", "single.mp4", frames=20, audio=False)
    long_clip(src / "tree" / "a", "one.mp4", frames=20, audio=False)
    long_clip(src / "tree" / "b", "two.mp4", frames=20, audio=False)
    globbed = long_clip(src / "globbed", "g1.mp4", frames=20, audio=False)
    listed = long_clip(src / "listed", "l1.mp4", frames=20, audio=False)
    (src / "files.txt").write_text(f"# inputs\n{listed.relative_to(src)}\n\n", encoding="utf-8")
    out = tmp_path / "out"
    report = run_batch(
        [single, src / "tree", str(src / "globbed" / "*.mp4"), src / "files.txt"],
        out,
        CONFIG,
        detector=SquareDetector(),
    )
    assert report.failures == []
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4") if RUN_DIR not in p.parts)
    assert written == ["a/one.mp4", "b/two.mp4", "g1.mp4", "l1.mp4", "single.mp4"]
    for name, source in [("single.mp4", single), ("g1.mp4", globbed)]:
        assert presentation_times(out / name) == presentation_times(source)


def test_two_inputs_for_one_output_are_refused(tmp_path: Path) -> None:
    a = long_clip(tmp_path / "a", "same.mp4", frames=10, audio=False)
    b = long_clip(tmp_path / "b", "same.mp4", frames=10, audio=False)
    with pytest.raises(ConfigError, match="both be written"):
        run_batch([a, b], tmp_path / "out", CONFIG, detector=SquareDetector())


def test_a_failing_input_is_listed_and_the_others_finish(tmp_path: Path) -> None:
    good = long_clip(tmp_path / "in", "good.mp4", frames=100)
    (tmp_path / "in" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 but nothing else")
    report = run_batch(
        [tmp_path / "in", tmp_path / "missing.mp4"], tmp_path / "out", CONFIG, JSON, SETTINGS,
        detector=SquareDetector(),
    )  # fmt: skip
    failed = sorted(Path(f.split(":")[0]).name for f in report.failures)
    assert failed == ["broken.mp4", "missing.mp4"]
    assert presentation_times(tmp_path / "out" / "good.mp4") == presentation_times(good)


def test_a_rerun_redoes_only_what_is_missing(tmp_path: Path) -> None:
    for name in ("a.mp4", "b.mp4"):
        long_clip(tmp_path / "in", name, frames=100)
    out = tmp_path / "out"
    first = CountingDetector()
    run_batch([tmp_path / "in"], out, CONFIG, JSON, SETTINGS, detector=first)
    assert first.calls > 0
    again = CountingDetector()
    report = run_batch([tmp_path / "in"], out, CONFIG, JSON, SETTINGS, detector=again)
    assert again.calls == 0 and all(r.reused for r in report.inputs)
    # The output is gone but its verified segments are not: only the join is redone.
    (out / "b.mp4").unlink()
    third = CountingDetector()
    report = run_batch([tmp_path / "in"], out, CONFIG, JSON, SETTINGS, detector=third)
    assert {Path(r.src).name: r.reused for r in report.inputs} == {"a.mp4": True, "b.mp4": False}
    assert third.calls == 0 and presentation_times(out / "b.mp4") == presentation_times(
        tmp_path / "in" / "b.mp4"
    )
    # One segment's part is gone too: that segment alone runs again.
    (out / "b.mp4").unlink()
    (part,) = [p for p in (out / RUN_DIR / "parts").rglob("00001.mp4") if p.parent.name == "2"]
    part.unlink()
    fourth = CountingDetector()
    run_batch([tmp_path / "in"], out, CONFIG, JSON, SETTINGS, detector=fourth)
    assert 0 < fourth.calls < first.calls / 2  # one of the four segments, with its context
    assert presentation_times(out / "b.mp4") == presentation_times(tmp_path / "in" / "b.mp4")


def test_after_ctrl_c_only_the_missing_segments_run(tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "in", frames=150)
    out = tmp_path / "out"
    # The first segment detects on about 20 frames: the interrupt lands in the second.
    with pytest.raises(KeyboardInterrupt):
        run_batch([clip], out, CONFIG, JSON, SETTINGS, detector=CountingDetector(interrupt_at=30))
    states = _states(out)["long.mp4"]
    done = [n for n, state, _ in states if state == "done"]
    assert done and len(done) < len(states)
    assert not (out / "long.mp4").exists()
    assert not list(out.rglob("*.partial*"))
    report = run_batch([clip], out, CONFIG, JSON, SETTINGS, detector=CountingDetector())
    assert report.inputs[0].state == "done"
    attempts = {n: a for n, _, a in _states(out)["long.mp4"]}
    assert all(attempts[n] == 1 for n in done), attempts  # never started again
    assert presentation_times(out / "long.mp4") == presentation_times(clip)


_KILLED_RUN = """
import sys, time
sys.path[:0] = {paths!r}
from pathlib import Path
from batch_clips import SquareDetector
from veil.batch import BatchSettings, run_batch
from veil.pipeline.config import PipelineConfig, RunOptions

class Slow(SquareDetector):
    def detect(self, image):
        time.sleep(0.02)
        return super().detect(image)

run_batch([Path({clip!r})], Path({out!r}), PipelineConfig(), RunOptions(write_detections=True),
          BatchSettings(segment_s=2.0), detector=Slow())
"""


def test_a_killed_run_leaves_a_manifest_the_next_run_completes(tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "in", frames=150)
    out = tmp_path / "out"
    tests = Path(__file__).resolve().parents[2]
    script = _KILLED_RUN.format(paths=[str(tests), str(tests.parent / "src")], clip=str(clip), out=str(out))
    child = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if any(s == "done" for _, s, _ in _states(out).get("long.mp4", [])):
                    break
            except sqlite3.Error:
                pass  # not created yet

            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    states = _states(out)["long.mp4"]
    assert any(state == "done" for _, state, _ in states)
    report = run_batch([clip], out, CONFIG, JSON, SETTINGS, detector=SquareDetector())
    (entry,) = report.inputs
    assert entry.state == "done" and entry.frames == 150
    assert presentation_times(out / "long.mp4") == presentation_times(clip)
    body = json.loads((out / "long.detections.json").read_text(encoding="utf-8"))
    assert [f["index"] for f in body["frames"]] == list(range(150))


def test_two_local_workers_give_the_same_detections(tmp_path: Path) -> None:
    for name in ("a.mp4", "b.mp4"):
        long_clip(tmp_path / "in", name, frames=100)
    one = run_batch([tmp_path / "in"], tmp_path / "one", CONFIG, JSON, SETTINGS, detector=SquareDetector())
    two = run_batch(
        [tmp_path / "in"], tmp_path / "two", CONFIG, JSON, BatchSettings(segment_s=2.0, workers=2),
        detector=SquareDetector(),
    )  # fmt: skip
    assert one.failures == two.failures == []
    for name in ("a", "b"):
        left = (tmp_path / "one" / f"{name}.detections.json").read_text(encoding="utf-8")
        right = (tmp_path / "two" / f"{name}.detections.json").read_text(encoding="utf-8")
        assert left == right


def test_a_failed_segment_fails_its_input_and_only_it_runs_again(tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "in", frames=150)
    out = tmp_path / "out"
    # The first segment detects on about 20 frames: the second one fails (fail closed: abort).
    report = run_batch([clip], out, CONFIG, JSON, SETTINGS, detector=CountingDetector(fail_at=30))
    (entry,) = report.inputs
    assert entry.state == "failed" and "model failed" in (entry.error or "")
    assert not (out / "long.mp4").exists()
    assert [state for _, state, _ in _states(out)["long.mp4"]] == ["done", "pending", "done"]
    report = run_batch([clip], out, CONFIG, JSON, SETTINGS, detector=CountingDetector())
    assert report.inputs[0].state == "done"
    assert {n: a for n, _, a in _states(out)["long.mp4"]} == {0: 1, 1: 2, 2: 1}
    assert presentation_times(out / "long.mp4") == presentation_times(clip)


def test_the_obfuscator_is_refused_not_replaced(tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "in", frames=10, audio=False)
    config = PipelineConfig(obfuscator=tmp_path / "obfuscator.onnx")
    with pytest.raises(ConfigError, match="obfuscator"):
        run_batch([clip], tmp_path / "out", config, detector=SquareDetector())
    assert not (tmp_path / "out" / clip.name).exists()
