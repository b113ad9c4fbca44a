"""The manifest: rows per input and segment, started afresh when the file or the settings change, and
no half-made change after a kill."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from veil.batch.manifest import Manifest, State
from veil.batch.segments import Segment

SEGMENTS = [Segment(0, 0, 50, 0, 75, 0), Segment(1, 50, 100, 25, 100, 12800)]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"not read by the manifest")
    return path


def test_segments_stay_done_until_the_input_changes(tmp_path: Path, src: Path) -> None:
    db = tmp_path / "m.sqlite"
    with Manifest(db, "s") as manifest:
        row = manifest.input_for(src, tmp_path / "out.mp4")
        assert row.state is State.PENDING
        assert manifest.set_segments(row.id, 100, SEGMENTS) == SEGMENTS
        manifest.segment_done(row.id, 0, 1.0)
    with Manifest(db, "s") as manifest:
        row = manifest.input_for(src, tmp_path / "out.mp4")
        assert manifest.set_segments(row.id, 100, SEGMENTS) == SEGMENTS[1:]
        src.write_bytes(b"another file now, longer than before")
        row = manifest.input_for(src, tmp_path / "out.mp4")
        assert manifest.segments(row.id) == []
        assert manifest.set_segments(row.id, 100, SEGMENTS) == SEGMENTS


def test_other_settings_start_afresh(tmp_path: Path, src: Path) -> None:
    db = tmp_path / "m.sqlite"
    with Manifest(db, "one") as manifest:
        row = manifest.input_for(src, tmp_path / "out.mp4")
        manifest.finish(row.id, State.DONE)
    with Manifest(db, "two") as manifest:
        assert manifest.inputs() == []


_KILL_INSIDE = """
import os, signal, sys
sys.path.insert(0, {src!r})
from pathlib import Path
from veil.batch.manifest import Manifest
with Manifest(Path({db!r}), "s") as manifest:
    with manifest._transaction() as cur:
        cur.execute("UPDATE segments SET state = 'done'")
        cur.execute("UPDATE inputs SET state = 'done'")
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_kill_inside_a_transaction_leaves_the_state_before_it(tmp_path: Path, src: Path) -> None:
    db = tmp_path / "m.sqlite"
    with Manifest(db, "s") as manifest:
        row = manifest.input_for(src, tmp_path / "out.mp4")
        manifest.set_segments(row.id, 100, SEGMENTS)
    source = str(Path(__file__).resolve().parents[3] / "src")
    child = subprocess.run([sys.executable, "-c", _KILL_INSIDE.format(src=source, db=str(db))], check=False)
    assert child.returncode == -9
    with Manifest(db, "s") as manifest:
        assert manifest.get(row.id).state is State.PENDING
        assert manifest.pending_segments(row.id) == SEGMENTS


def test_an_error_inside_a_transaction_rolls_it_back(tmp_path: Path, src: Path) -> None:
    with Manifest(tmp_path / "m.sqlite", "s") as manifest:
        row = manifest.input_for(src, tmp_path / "out.mp4")
        with pytest.raises(RuntimeError), manifest._transaction() as cur:
            cur.execute("UPDATE inputs SET state = 'done'")
            raise RuntimeError("between two statements")
        assert manifest.get(row.id).state is State.PENDING


def test_the_manifest_never_holds_the_method_key(tmp_path: Path) -> None:
    from batch_clips import SquareDetector, long_clip
    from veil.batch import RUN_DIR, run_batch
    from veil.pipeline.config import PipelineConfig

    secret = b"0123456789abcdef-the-token-secret"
    clip = long_clip(tmp_path / "in", frames=10, audio=False)
    run_batch([clip], tmp_path / "out", PipelineConfig(method_key=secret), detector=SquareDetector())
    stored = b"".join(p.read_bytes() for p in (tmp_path / "out" / RUN_DIR).glob("manifest.sqlite*"))
    assert stored and secret not in stored and secret.hex().encode() not in stored
