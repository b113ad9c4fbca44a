"""remove_dynamic_object / remove_static_object on small synthetic clips, with fake detectors."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from conftest import MakeVideo
from veil.detection.fake import FailingDetector, FakeDetector
from veil.detections import Detections
from veil.errors import ConfigError, PrivacyError
from veil.pipeline.detections_json import FrameDetections, write_detections
from veil.removal import RemovalSettings, remove_dynamic_object, remove_static_object
from veil.types import Image, ObjectClass

WIDTH, HEIGHT, SIDE = 64, 48, 16  # the make_video clip: a 16 px checkered square over noise


def square_box(index: int) -> list[float]:
    """Return the xyxy box of the make_video square on frame ``index``."""
    x, y = (index * 3) % (WIDTH - SIDE), (index * 2) % (HEIGHT - SIDE)
    return [x, y, x + SIDE, y + SIDE]


def square_detector() -> FakeDetector:
    return FakeDetector(lambda i, _: Detections.create([square_box(i)], [0.9], ObjectClass.PERSON))


def decode(path: Path) -> list[Image]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def checker_share(image: Image, box: list[float]) -> float:
    """Return the share of the box's pixels that look like the grey checker (30 or 230 grey)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    patch = image[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].astype(int)
    grey = (np.ptp(patch, axis=2) < 25) & ((patch.mean(axis=2) < 60) | (patch.mean(axis=2) > 200))
    return float(grey.mean())


SETTINGS = RemovalSettings(window_radius=4, motion=False, shadow_margin_ratio=0.0)


def test_dynamic_removal_writes_every_frame_without_the_object(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(frames=12, width=WIDTH, height=HEIGHT, audio=True)
    dst = tmp_path / "clean.mp4"
    report = remove_dynamic_object(src, dst, SETTINGS, detector=square_detector())
    before, after = decode(src), decode(dst)
    assert report.frames_read == report.frames_written == len(after) == len(before) == 12
    assert report.frames_with_mask == 12
    assert report.fill.masked == report.fill.from_other_frames + report.fill.carried + report.fill.spatial
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert checker_share(a, square_box(i)) > 0.6
        assert checker_share(b, square_box(i)) < 0.1
    with av.open(str(dst)) as container:
        assert len(container.streams.audio) == 1


def test_a_failing_detector_aborts_and_writes_nothing(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(frames=8, width=WIDTH, height=HEIGHT)
    dst = tmp_path / "out" / "clean.mp4"
    dst.parent.mkdir()
    with pytest.raises(PrivacyError, match="frame 3"):
        remove_dynamic_object(src, dst, SETTINGS, detector=FailingDetector(RuntimeError("boom"), fail_at=3))
    assert list(dst.parent.iterdir()) == []


def _write_regions(tmp_path: Path, frames: int) -> Path:
    """Write a detections file: track 1 is the square, track 2 a box over plain background."""
    path = tmp_path / "clip.detections.json"
    rows = [
        FrameDetections(
            i,
            i,
            i / 25,
            Detections.create(
                [square_box(i), [44, 30, 60, 44]], [0.9, 0.9], ObjectClass.PERSON, track_ids=[1, 2]
            ),
        )
        for i in range(frames)
    ]
    write_detections(path, "clip.mp4", WIDTH, HEIGHT, rows)
    return path


def test_track_id_removes_only_that_track(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(frames=10, width=WIDTH, height=HEIGHT)
    regions = _write_regions(tmp_path, 10)
    dst = tmp_path / "only1.mp4"
    settings = RemovalSettings(window_radius=4, motion=False, detections=regions, track_id=1)
    report = remove_dynamic_object(src, dst, settings)
    after = decode(dst)
    assert report.frames_written == 10
    assert all(checker_share(a, square_box(i)) < 0.1 for i, a in enumerate(after))


def test_a_detections_file_missing_a_frame_is_a_privacy_error(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(frames=10, width=WIDTH, height=HEIGHT)
    regions = _write_regions(tmp_path, 6)
    dst = tmp_path / "out.mp4"
    with pytest.raises(PrivacyError, match="frame 6 is missing"):
        remove_dynamic_object(src, dst, RemovalSettings(window_radius=2, detections=regions))
    assert not dst.exists()


def test_static_removal_needs_a_box_or_track(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(frames=3, width=WIDTH, height=HEIGHT)
    with pytest.raises(ConfigError, match="box_xyxy or track_id"):
        remove_static_object(src, tmp_path / "o.mp4", RemovalSettings(), detector=square_detector())


def test_static_removal_with_nothing_found_removes_the_box(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(frames=6, width=WIDTH, height=HEIGHT)
    dst = tmp_path / "static.mp4"
    settings = RemovalSettings(window_radius=2, box_xyxy=(40, 4, 60, 20))
    report = remove_static_object(src, dst, settings, detector=FakeDetector(Detections.empty()))
    assert report.operation == "remove_static_object"
    assert report.frames_with_mask == 6
    assert report.fill.masked >= 6 * 20 * 16
