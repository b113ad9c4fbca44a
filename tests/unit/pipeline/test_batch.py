from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import MakeVideo
from veil.errors import OutputError, UnreadableMediaError
from veil.pipeline.batch import run_tree, scan_media_files
from veil.pipeline.config import RunOptions
from veil.pipeline.preview import ContactSheet
from veil.pipeline.report import RunReport


def _jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(path)
    return path


def _folder(root: Path, make_video: MakeVideo) -> Path:
    """A folder as a camera export leaves it: good media, damaged media, sidecars, a killed run's leftover."""
    _jpeg(root / "good.jpg")
    _jpeg(root / "sub" / "good.png")
    clip = make_video("clip.mp4", frames=4)
    (root / "clip.mp4").write_bytes(clip.read_bytes())
    (root / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    (root / "empty.jpg").write_bytes(b"")
    # No media suffix, but an MP4's first bytes: damaged media, not a stray file.
    (root / "export_0001").write_bytes(clip.read_bytes()[:48])
    (root / "notes.txt").write_text("camera 7, north gate")
    (root / "clip.detections.json").write_text("{}")
    (root / "BMW.txt").write_text("BM plates seen: 3")  # "BM" starts a bitmap, but two bytes prove nothing
    _jpeg(root / ".clip.4242-0a1b2c3d.partial.jpg")  # a killed run's leftover: hidden, never media
    _jpeg(root / ".thumbs" / "good.jpg")
    return root


def test_scan_sorts_media_damaged_media_and_other_files(tmp_path: Path, make_video: MakeVideo) -> None:
    root = _folder(tmp_path / "in", make_video)
    scan = scan_media_files(root)

    def names(paths: Iterable[Path]) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in paths)

    assert names(scan.media) == ["clip.mp4", "good.jpg", "sub/good.png"]
    assert names(p for p, _ in scan.unreadable) == ["empty.jpg", "export_0001", "noise.mp4"]
    assert names(scan.others) == ["BMW.txt", "clip.detections.json", "notes.txt"]
    assert scan.hidden == 2
    reasons = dict(scan.unreadable)
    assert "empty" in reasons[root / "empty.jpg"]


def test_folder_run_lists_each_damaged_file_once_with_its_reason(
    tmp_path: Path, make_video: MakeVideo
) -> None:
    root = _folder(tmp_path / "in", make_video)
    ran: list[str] = []

    def run_one(src: Path, dst: Path, options: RunOptions, sheet: ContactSheet | None) -> RunReport:
        ran.append(str(src.relative_to(root)))
        if src.name == "clip.mp4":
            raise UnreadableMediaError(f"{src}: cut off after 2 of 4 frames")
        return RunReport(inputs=1)

    report = run_tree(root, tmp_path / "out", RunOptions(), run_one)
    assert ran == ["clip.mp4", "good.jpg", "sub/good.png"]
    assert report.inputs == 6
    assert sorted(report.failures) == [
        "clip.mp4: cut off after 2 of 4 frames",  # the path is said once, relative to the folder
        "empty.jpg: is empty (0 bytes)",
        "export_0001: not an image or video FFmpeg can read (Invalid data found when processing input)",
        "noise.mp4: not an image or video FFmpeg can read (Invalid data found when processing input)",
    ]
    assert report.warnings == ["left out 3 file(s) that are not images or videos"]


def test_a_folder_with_nothing_to_process_says_so(tmp_path: Path) -> None:
    root = tmp_path / "in"
    _jpeg(root / ".clip.4242-0a1b2c3d.partial.jpg")

    def run_one(src: Path, dst: Path, options: RunOptions, sheet: ContactSheet | None) -> RunReport:
        raise AssertionError(f"{src} is not media to process")

    report = run_tree(root, tmp_path / "out", RunOptions(), run_one)
    assert report.inputs == 0 and not report.failures
    assert report.warnings == [f"no images or videos in {root} (1 hidden file(s) not looked at)"]


def test_detect_only_may_write_into_the_input_folder_and_names_each_json(tmp_path: Path) -> None:
    root = tmp_path / "in"
    _jpeg(root / "sub" / "a.jpg")
    written: list[Path] = []

    def run_one(src: Path, dst: Path, options: RunOptions, sheet: ContactSheet | None) -> RunReport:
        written.append(dst)
        return RunReport(inputs=1)

    run_tree(root, root, RunOptions(detect_only=True), run_one)
    assert written == [root / "sub" / "a.detections.json"]  # never the input's own path
    with pytest.raises(OutputError, match="inside the input folder"):
        run_tree(root, root / "anon", RunOptions(), run_one)  # anonymized media would be read again
