"""Keyframe segments: the index from packets, the plan's cover and context, and a segment's frames."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from batch_clips import KEYFRAME_EVERY, long_clip
from media_matrix import ClipSpec, presentation_times, write_clip
from veil.batch.segments import Segment, VideoIndex, context_frames, index_video, plan_segments, read_segment
from veil.errors import MediaError
from veil.video.reader import VideoReader


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return long_clip(tmp_path, frames=150, audio=False)


def test_index_lists_every_frame_and_keyframe(clip: Path) -> None:
    index = index_video(clip)
    assert index is not None
    assert index.frame_count == 150
    assert index.keyframes == tuple(range(0, 150, KEYFRAME_EVERY))
    assert index.times() == presentation_times(clip)


@pytest.mark.parametrize("name", ["raw.h264", "slots.avi"])
def test_containers_without_exact_seeking_go_whole(tmp_path: Path, name: str) -> None:
    path = write_clip(tmp_path, ClipSpec(name=name, frames=30, audio_codec=None))
    assert index_video(path) is None


def _index(frames: int, keyframe_every: int, fps: int = 25) -> VideoIndex:
    return VideoIndex(
        pts=tuple(range(frames)),
        time_base=Fraction(1, fps),
        keyframes=tuple(range(0, frames, keyframe_every)),
    )


@pytest.mark.parametrize(
    ("frames", "keyframe_every", "segment_s", "expected_starts"),
    [
        (150, 25, 2.0, [0, 50, 100]),
        (150, 25, 1.0, [0, 25, 50, 75, 100, 125]),
        (160, 40, 1.0, [0, 40, 80, 120]),  # keyframes further apart than a segment: cut at each
        (120, 25, 2.0, [0, 50]),  # the 20-frame tail is under half a segment: joined to the one before
        (74, 25, 2.0, None),  # under 1.5 segments: whole
        (250, 250, 2.0, None),  # one keyframe: nowhere to cut
    ],
)
def test_segments_cover_the_video_at_keyframes(
    frames: int, keyframe_every: int, segment_s: float, expected_starts: list[int] | None
) -> None:
    index = _index(frames, keyframe_every)
    segments = plan_segments(index, segment_s, before=25, after=25, detect_every=5)
    if expected_starts is None:
        assert segments is None
        return
    assert segments is not None
    assert [s.start for s in segments] == expected_starts
    assert [s.number for s in segments] == list(range(len(segments)))
    assert segments[0].start == 0 and segments[-1].end == frames
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
    for s in segments:
        assert s.start in index.keyframes
        assert s.context_start <= max(0, s.start - 25) and s.context_start % 5 == 0
        assert s.context_end == min(frames, s.end + 25)
        assert s.seek_pts in {index.pts[k] for k in index.keyframes if k <= s.context_start}


def test_context_covers_hold_and_lookahead() -> None:
    before, after = context_frames(lookahead_frames=15, hold_frames=25, detect_every=5)
    assert before >= 25 + 5 and after >= 15 + 5


def test_a_segment_decodes_the_one_pass_frames(clip: Path) -> None:
    index = index_video(clip)
    assert index is not None
    segments = plan_segments(index, 2.0, before=25, after=25, detect_every=5)
    assert segments is not None
    with VideoReader(clip, max_pixels=10**8) as reader:
        whole = list(reader)
    for segment in segments:
        frames = list(read_segment(clip, index, segment, max_pixels=10**8))
        assert [f.index for f in frames] == list(range(segment.context_start, segment.context_end))
        for frame in frames:
            same = whole[frame.index]
            assert frame.pts == same.pts and frame.time_base == same.time_base
            assert np.array_equal(frame.image, same.image)


def test_a_segment_of_a_changed_file_is_refused(clip: Path, tmp_path: Path) -> None:
    index = index_video(clip)
    assert index is not None
    shifted = VideoIndex(tuple(p + 1 for p in index.pts), index.time_base, index.keyframes)
    segment = Segment(1, 50, 100, 25, 125, seek_pts=index.pts[25])
    with pytest.raises(MediaError, match="changed"):
        list(read_segment(clip, shifted, segment, max_pixels=10**8))
