from __future__ import annotations

import os
from pathlib import Path

import pytest

from veil.errors import OutputError
from veil.video.atomic import check_output, discard, partial_path, publish


def test_partial_path_is_hidden_beside_dst_with_same_suffix_and_new_each_time(tmp_path: Path) -> None:
    first, second = partial_path(tmp_path / "clip.mp4"), partial_path(tmp_path / "clip.mp4")
    for partial in (first, second):
        assert partial.parent == tmp_path
        assert partial.name.startswith(".clip.") and partial.name.endswith(".partial.mp4")
    assert first != second  # two runs writing one output never share a temporary file


def test_check_output_refuses_the_source_itself(tmp_path: Path) -> None:
    src = tmp_path / "a.mp4"
    src.write_bytes(b"x")
    with pytest.raises(OutputError, match="input itself"):
        check_output(tmp_path / "." / "a.mp4", src)


def test_check_output_refuses_a_link_to_the_source(tmp_path: Path) -> None:
    src = tmp_path / "a.mp4"
    src.write_bytes(b"x")
    link = tmp_path / "b.mp4"
    link.hardlink_to(src)
    with pytest.raises(OutputError, match="input itself"):
        check_output(link, src)


@pytest.mark.parametrize(
    ("make_parent", "message"),
    [("missing", "does not exist"), ("file", "not a folder")],
)
def test_check_output_refuses_unusable_folders(tmp_path: Path, make_parent: str, message: str) -> None:
    parent = tmp_path / "out"
    if make_parent == "file":
        parent.write_bytes(b"")
    with pytest.raises(OutputError, match=message):
        check_output(parent / "x.mp4", tmp_path / "src.mp4")


def test_publish_replaces_dst_and_discard_tolerates_missing(tmp_path: Path) -> None:
    dst = tmp_path / "x.jpg"
    dst.write_bytes(b"old")
    partial = partial_path(dst)
    partial.write_bytes(b"new")
    publish(partial, dst)
    assert dst.read_bytes() == b"new"
    assert not partial.exists()
    discard(partial)  # already gone: no error


def test_publish_removes_partials_left_by_dead_runs_only(tmp_path: Path) -> None:
    dst = tmp_path / "clip.mp4"
    dead = tmp_path / ".clip.999999999-dead.partial.mp4"  # no such process
    alive = tmp_path / f".clip.{os.getpid()}-live.partial.mp4"  # a run still writing
    other = tmp_path / ".other.999999999-dead.partial.mp4"  # another output's
    for path in (dead, alive, other):
        path.write_bytes(b"x")
    partial = partial_path(dst)
    partial.write_bytes(b"done")
    publish(partial, dst)
    assert dst.read_bytes() == b"done"
    assert not dead.exists() and alive.exists() and other.exists()
