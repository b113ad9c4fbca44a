"""The stand-in camera: re-encoding a clip into MPEG-TS, and sending an encoded stream's own packets."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from conftest import MakeVideo
from veil.live.loopback import StreamSender

FPS, FRAMES = 25, 12


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(video=0) if f.time is not None]


@pytest.fixture
def camera_file(make_video: MakeVideo, tmp_path: Path) -> Path:
    """A clip re-encoded as a camera would send it (zerolatency H.264 in MPEG-TS), written to a file."""
    clip = make_video("clip.mp4", width=96, height=64, fps=FPS, frames=FRAMES)
    path = tmp_path / "camera.ts"
    StreamSender(clip, str(path), size=(128, 96), realtime=False).start().join(10)
    return path


def test_the_sender_reencodes_every_frame_at_the_asked_size(camera_file: Path) -> None:
    times = _frame_times(camera_file)
    assert len(times) == FRAMES
    with av.open(str(camera_file)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (128, 96)


def test_copy_sends_the_packets_as_they_are_paced_by_their_timestamps(
    camera_file: Path, tmp_path: Path
) -> None:
    copied = tmp_path / "copied.ts"
    sender = StreamSender(camera_file, str(copied), copy=True, max_frames=8).start()
    sender.join(10)
    assert sorted(sender.sent_s) == pytest.approx([i / FPS for i in range(8)], abs=1e-3)
    sent = [sender.sent_s[k] for k in sorted(sender.sent_s)]
    # Real time: the last frame leaves about 7 frame periods after the first, not at once.
    assert sent[-1] - sent[0] == pytest.approx(7 / FPS, abs=0.1)
    times = _frame_times(copied)
    assert len(times) == 8
    assert [round(t - times[0], 3) for t in times] == pytest.approx([i / FPS for i in range(8)], abs=1e-3)
