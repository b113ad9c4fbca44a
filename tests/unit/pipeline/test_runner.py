"""Whole-file runs with fake detectors on synthetic media: counts, timestamps, audio, fail closed."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import MakeVideo
from veil.anonymizers.fake import RecordingAnonymizer
from veil.api import open_pipeline
from veil.detection.fake import FailingDetector, FakeDetector
from veil.detections import Detections
from veil.errors import OutputError, PrivacyError
from veil.pipeline.config import FailMode, PipelineConfig, PrivacyPolicy, RunOptions, TemporalConfig
from veil.pipeline.detections_json import read_detections, write_detections
from veil.types import ObjectClass, Origin

MAGENTA = np.array([255, 0, 255])
FACE = Detections.create([[8, 8, 40, 40]], [0.9], ObjectClass.FACE)


def _frames(path: Path) -> list[tuple[int, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(f.pts, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def _audio_packets(path: Path) -> int:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0
        return sum(1 for p in container.demux(audio=0) if p.size)


def test_video_round_trip_keeps_frames_timestamps_audio_and_hides_regions(
    make_video: MakeVideo, tmp_path: Path
) -> None:
    src = make_video(name="in.mp4", width=96, height=64, frames=12, audio=True)
    dst = tmp_path / "out.mp4"
    with open_pipeline(PipelineConfig(), detector=FakeDetector(FACE), anonymizer=RecordingAnonymizer()) as p:
        report = p.anonymize_file(src, dst, RunOptions(write_detections=True, preview=tmp_path / "sheet.png"))
    original, written = _frames(src), _frames(dst)
    assert [pts for pts, _ in written] == [pts for pts, _ in original]
    assert report.frames_read == report.frames_anonymized == report.frames_written == 12
    assert report.regions[ObjectClass.FACE] == 12
    for _, image in written:  # the painted region survives lossy encoding as near-magenta
        assert np.abs(image[14:34, 14:34].reshape(-1, 3).mean(0) - MAGENTA).max() < 40
    assert _audio_packets(dst) == _audio_packets(src) > 0
    saved = read_detections(tmp_path / "in.detections.json")
    assert sorted(saved.by_index()) == list(range(12))
    with PILImage.open(tmp_path / "sheet.png") as sheet:
        assert sheet.size[0] > 0
    assert not list(tmp_path.glob(".*partial*"))


def test_detector_failure_mid_video_leaves_no_output(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="in.mp4", frames=10)
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"previous result")
    with (
        open_pipeline(
            PipelineConfig(),
            detector=FailingDetector(RuntimeError("model crashed"), fail_at=5),
            anonymizer=RecordingAnonymizer(),
        ) as p,
        pytest.raises(PrivacyError, match="frame 5"),
    ):
        p.anonymize_file(src, dst)
    assert dst.read_bytes() == b"previous result"
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(["in.mp4", "out.mp4"])


def test_hide_frame_mode_completes_and_counts(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="in.mp4", frames=6)
    config = PipelineConfig(policy=PrivacyPolicy(fail_mode=FailMode.HIDE_FRAME))
    with open_pipeline(
        config, detector=FailingDetector(RuntimeError("x"), fail_at=3), anonymizer=RecordingAnonymizer()
    ) as p:
        report = p.anonymize_file(src, tmp_path / "out.mp4")
    assert report.frames_written == 6
    assert report.frames_hidden_whole == 3


def test_detect_only_then_from_detections_is_the_review_loop(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="clip.mp4", width=96, height=64, frames=5)
    out = tmp_path / "out.mp4"
    with open_pipeline(detector=FakeDetector(FACE), anonymizer=RecordingAnonymizer()) as p:
        report = p.anonymize_file(src, out, RunOptions(detect_only=True))
    assert not out.exists() and report.frames_detected == 5
    file = read_detections(tmp_path / "out.detections.json")  # -o names the JSON of a detect-only run
    # A reviewer removes the face from frame 2 and adds a plate on frame 4.
    frames = list(file.frames)
    frames[2] = type(frames[2])(2, frames[2].pts, frames[2].time_s, Detections.empty())
    plate = Detections.create([[50, 30, 90, 60]], [1.0], ObjectClass.LICENSE_PLATE)
    frames[4] = type(frames[4])(
        4, frames[4].pts, frames[4].time_s, Detections.concat([frames[4].detections, plate])
    )
    corrected = tmp_path / "corrected.json"
    write_detections(corrected, "clip.mp4", 96, 64, frames)
    with open_pipeline(anonymizer=RecordingAnonymizer()) as p:  # no detector: none may be needed
        report = p.anonymize_file(src, out, RunOptions(from_detections=corrected))
    written = _frames(out)
    assert report.regions[ObjectClass.FACE] == 4 and report.regions[ObjectClass.LICENSE_PLATE] == 1
    assert np.abs(written[2][1][14:34, 14:34].reshape(-1, 3).mean(0) - MAGENTA).max() > 60
    assert np.abs(written[4][1][36:54, 56:84].reshape(-1, 3).mean(0) - MAGENTA).max() < 40


def test_from_detections_missing_a_frame_fails_closed(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="clip.mp4", width=96, height=64, frames=4)
    with open_pipeline(detector=FakeDetector(FACE), anonymizer=RecordingAnonymizer()) as p:
        p.anonymize_file(src, tmp_path / "o.mp4", RunOptions(detect_only=True))
    file = read_detections(tmp_path / "o.detections.json")
    short = tmp_path / "short.json"
    write_detections(short, "clip.mp4", 96, 64, file.frames[:3])
    with open_pipeline(anonymizer=RecordingAnonymizer()) as p, pytest.raises(PrivacyError, match="frame 3"):
        p.anonymize_file(src, tmp_path / "out.mp4", RunOptions(from_detections=short))
    assert not (tmp_path / "out.mp4").exists()


def test_output_equal_to_input_is_refused(make_video: MakeVideo) -> None:
    src = make_video(name="clip.mp4", frames=2)
    with (
        open_pipeline(detector=FakeDetector(FACE), anonymizer=RecordingAnonymizer()) as p,
        pytest.raises(OutputError, match="input itself"),
    ):
        p.anonymize_file(src, src)


def test_folder_is_mirrored_and_non_media_skipped(make_video: MakeVideo, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    PILImage.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / "a.jpg")
    PILImage.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / "sub" / "b.png")
    (root / "notes.txt").write_text("not media")
    out = tmp_path / "anon"
    with open_pipeline(detector=FakeDetector(FACE), anonymizer=RecordingAnonymizer()) as p:
        report = p.anonymize_path(root, out, RunOptions(preview=tmp_path / "sheet.png"))
    assert (out / "a.jpg").is_file() and (out / "sub" / "b.png").is_file()
    assert not (out / "notes.txt").exists()
    assert report.inputs == 2 and report.frames_written == 2
    with PILImage.open(out / "sub" / "b.png") as copy:
        assert copy.format == "PNG"
    assert (tmp_path / "sheet.png").is_file()


def test_video_detects_on_schedule_and_carries_regions_between(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="in.mp4", width=96, height=64, frames=12)
    detector = FakeDetector(FACE)
    # The synthetic clip's checkered square dominates its thumbnails: every frame would look like a cut.
    temporal = TemporalConfig(detect_every=4, change_threshold=None, scene_cut_threshold=1.0)
    config = PipelineConfig(temporal=temporal)
    with open_pipeline(config, detector=detector, anonymizer=RecordingAnonymizer()) as p:
        report = p.anonymize_file(src, tmp_path / "out.mp4", RunOptions(write_detections=True))
    assert detector.calls == report.frames_detected == 3  # frames 0, 4, 8
    assert report.frames_propagated == 9
    assert report.frames_read == report.frames_anonymized == report.frames_written == 12
    saved = read_detections(tmp_path / "in.detections.json").by_index()
    origins = [saved[i].origins[0] for i in range(12)]
    assert origins == [Origin.DETECTED if i % 4 == 0 else Origin.PROPAGATED for i in range(12)]
    assert {int(saved[i].track_ids[0]) for i in range(12) if saved[i].track_ids is not None} == {1}


@pytest.mark.parametrize("lookahead", [0, 3])
def test_anonymize_frames_detects_on_a_schedule_and_hides_every_frame(lookahead: int) -> None:
    detector = FakeDetector(FACE)
    anonymizer = RecordingAnonymizer()
    temporal = TemporalConfig(detect_every=4, change_threshold=None, lookahead_frames=lookahead)
    frames = [np.full((64, 96, 3), 60 + 10 * i, np.uint8) for i in range(10)]
    with open_pipeline(PipelineConfig(temporal=temporal), detector=detector, anonymizer=anonymizer) as p:
        out = list(p.anonymize_frames(iter(frames)))
    assert len(out) == len(frames)
    assert detector.calls == 3  # frames 0, 4 and 8
    for original, hidden in zip(frames, out, strict=True):
        assert (hidden[20, 20] == MAGENTA).all()  # the face, detected or carried, on every frame
        assert (hidden[60, 90] == original[60, 90]).all()  # and nothing else


def test_profiled_video_times_every_stage_once_per_frame(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="in.mp4", width=96, height=64, frames=12)
    config = PipelineConfig(temporal=TemporalConfig(detect_every=3))
    with open_pipeline(config, detector=FakeDetector(FACE), anonymizer=RecordingAnonymizer()) as p:
        plain = p.anonymize_file(src, tmp_path / "plain.mp4", RunOptions())
        report = p.anonymize_file(src, tmp_path / "out.mp4", RunOptions(profile=True))
    assert plain.stage_times == {} and "stages" not in plain.to_dict()
    times = report.stage_times
    assert list(times) == ["load models", "decode", "detect", "propagate", "anonymize", "encode"]
    for stage in ("decode", "detect", "anonymize"):
        assert times[stage].calls == 12, stage
    assert times["encode"].calls == 13  # every frame, then the encoder's flush
    assert all(t.wall_s >= 0 and t.cpu_s >= 0 for t in times.values())
    assert sum(t.wall_s for n, t in times.items() if n != "load models") > 0
    stages = report.to_dict()["stages"]
    assert stages["decode"]["calls"] == 12 and set(stages["decode"]) == {
        "wall_s",
        "cpu_s",
        "calls",
        "wall_ms_per_call",
    }
