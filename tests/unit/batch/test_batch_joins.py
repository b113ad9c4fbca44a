"""Segments joined back: the source's frames, times and audio, and no frame less hidden at a join."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from batch_clips import SquareDetector, boxes_by_frame, long_clip
from media_matrix import audio_span, presentation_times
from veil import api
from veil.batch import BatchSettings, run_batch
from veil.batch.segments import index_video
from veil.geometry import iou_matrix
from veil.pipeline.config import PipelineConfig, RunOptions

SEGMENT_S = 2.0


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return long_clip(tmp_path / "in", frames=150)


def _segmented(
    clip: Path, out: Path, config: PipelineConfig, detector: SquareDetector | None = None
) -> api.BatchReport:
    return run_batch(
        [clip],
        out,
        config,
        RunOptions(write_detections=True),
        BatchSettings(segment_s=SEGMENT_S),
        detector=detector or SquareDetector(),
    )


def test_joined_output_has_the_sources_frames_times_and_audio(clip: Path, tmp_path: Path) -> None:
    report = _segmented(clip, tmp_path / "out", PipelineConfig())
    (entry,) = report.inputs
    assert entry.state == "done" and entry.segments == 3 and entry.frames == 150
    out = tmp_path / "out" / clip.name
    assert presentation_times(out) == presentation_times(clip)
    src_audio, out_audio = audio_span(clip), audio_span(out)
    assert src_audio is not None and out_audio is not None
    assert abs(out_audio[0] - src_audio[0]) < Fraction(1, 25)
    assert abs(out_audio[1] - src_audio[1]) < Fraction(1, 25)
    index = index_video(clip)
    assert index is not None
    listed = boxes_by_frame(tmp_path / "out" / f"{clip.stem}.detections.json")
    assert sorted(listed) == list(range(150))


# 36: the detector sees the square on 4 frames of every 16, so it is missed on both joins' frames
# and only what the context carries across the join hides it there (without context, frames before
# the second join lose their region).
@pytest.mark.parametrize("sees_from_x", [0, 36])
def test_no_frame_at_a_join_is_less_hidden_than_in_one_pass(
    clip: Path, tmp_path: Path, sees_from_x: int
) -> None:
    config = PipelineConfig()
    report = _segmented(clip, tmp_path / "seg", config, SquareDetector(sees_from_x))
    assert report.inputs[0].segments == 3
    (tmp_path / "one").mkdir()
    with api.open_pipeline(config, detector=SquareDetector(sees_from_x)) as pipeline:
        pipeline.anonymize_file(clip, tmp_path / "one" / clip.name, RunOptions(write_detections=True))
    one = boxes_by_frame(tmp_path / "one" / f"{clip.stem}.detections.json")
    seg = boxes_by_frame(tmp_path / "seg" / f"{clip.stem}.detections.json")
    assert sorted(one) == sorted(seg) == list(range(150))
    for index in range(150):
        if not one[index]:
            continue
        assert seg[index], f"frame {index}: hidden in one pass, not after the join"
        iou = iou_matrix(np.array(one[index], np.float32), np.array(seg[index], np.float32))
        assert iou.max(axis=1).min() > 0.9, (index, one[index], seg[index])
    # The context makes each segment's engine see what a one-pass run saw: the same regions.
    assert seg == one


def test_detect_only_segments_list_the_one_pass_detections(clip: Path, tmp_path: Path) -> None:
    config = PipelineConfig()
    detector = SquareDetector(36)
    report = run_batch(
        [clip], tmp_path / "seg", config, RunOptions(detect_only=True), BatchSettings(segment_s=SEGMENT_S),
        detector=detector,
    )  # fmt: skip
    assert report.inputs[0].segments == 3
    assert not (tmp_path / "seg" / clip.name).exists()
    with api.open_pipeline(config, detector=detector) as pipeline:
        pipeline.anonymize_file(clip, tmp_path / "one.json", RunOptions(detect_only=True))
    assert boxes_by_frame(tmp_path / "seg" / f"{clip.stem}.detections.json") == boxes_by_frame(
        tmp_path / "one.json"
    )


def test_segments_hide_what_a_reviewed_detections_folder_lists(clip: Path, tmp_path: Path) -> None:
    config = PipelineConfig()
    run_batch(
        [clip.parent], tmp_path / "reviewed", config, RunOptions(detect_only=True),
        BatchSettings(segment_s=SEGMENT_S), detector=SquareDetector(),
    )  # fmt: skip
    report = run_batch(
        [clip.parent], tmp_path / "out", config,
        RunOptions(from_detections=tmp_path / "reviewed", write_detections=True),
        BatchSettings(segment_s=SEGMENT_S),
    )  # fmt: skip
    (entry,) = report.inputs
    assert entry.state == "done" and entry.segments == 3, entry.error
    assert presentation_times(tmp_path / "out" / clip.name) == presentation_times(clip)
    assert boxes_by_frame(tmp_path / "out" / f"{clip.stem}.detections.json") == boxes_by_frame(
        tmp_path / "reviewed" / f"{clip.stem}.detections.json"
    )
