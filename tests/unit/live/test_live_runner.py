"""Live runs on loopback: a sender thread streams a synthetic clip as MPEG-TS over TCP to Veil."""

from __future__ import annotations

import itertools
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
from live_helpers import free_port, is_painted, read_frames, whole_frame_detector

from conftest import MakeVideo
from veil.anonymizers.fake import RecordingAnonymizer
from veil.api import LiveSettings, open_pipeline
from veil.detection.fake import FailingDetector, FakeDetector
from veil.errors import PrivacyError, UnreadableMediaError
from veil.live.loopback import StreamSender
from veil.live.report import LiveReport
from veil.pipeline.config import FailMode, PipelineConfig, PrivacyPolicy, TemporalConfig

FPS = 25
FRAMES = 30


def config(detect_every: int = 5, fail_mode: FailMode = FailMode.ABORT) -> PipelineConfig:
    return PipelineConfig(
        temporal=TemporalConfig(detect_every=detect_every), policy=PrivacyPolicy(fail_mode=fail_mode)
    )


def stream(
    clip: Path,
    dst: Path | str,
    detector: FakeDetector | FailingDetector,
    settings: LiveSettings | None = None,
    pipeline_config: PipelineConfig | None = None,
) -> tuple[LiveReport, StreamSender]:
    """Send ``clip`` in real time to a listening Veil and return Veil's report and the sender."""
    port = free_port()
    sender = StreamSender(clip, f"tcp://127.0.0.1:{port}").start()
    try:
        with open_pipeline(
            pipeline_config or config(), detector=detector, anonymizer=RecordingAnonymizer()
        ) as p:
            report = p.stream(
                f"tcp://127.0.0.1:{port}?listen=1", str(dst), settings or LiveSettings(open_timeout_s=10)
            )
    finally:
        sender.stop()
        sender.join(10)
    return report, sender


@pytest.fixture
def clip(make_video: MakeVideo) -> Path:
    return make_video("live.mp4", width=96, height=64, fps=FPS, frames=FRAMES)


def test_every_frame_arrives_anonymized_in_order_with_its_capture_time(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ts"
    report, sender = stream(clip, out, whole_frame_detector())
    frames = read_frames(out)
    assert report.frames_read == report.frames_anonymized + report.frames_dropped == FRAMES
    assert report.frames_written == report.frames_anonymized == len(frames)
    assert all(is_painted(f.image) for f in frames)
    times = [f.time_s - frames[0].time_s for f in frames]
    assert times == sorted(set(times))
    assert all(abs(t * FPS - round(t * FPS)) < 0.01 for t in times)  # on the source's frame grid
    if report.frames_dropped == 0:
        assert [round(t, 3) for t in times] == [round(t, 3) for t in sorted(sender.sent_s)]
    assert report.ended_by == "end of stream"
    assert report.latency.count == report.frames_written
    assert not list(tmp_path.glob(".*partial*"))


def test_a_slow_inline_detector_makes_frames_drop_never_written_raw(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ts"
    settings = LiveSettings(latency_budget_ms=80, open_timeout_s=10, background_detection=False)
    report, _ = stream(clip, out, whole_frame_detector(delay_s=0.12), settings, config(detect_every=1))
    frames = read_frames(out)
    assert report.frames_dropped > 0
    assert report.frames_read == report.frames_dropped + report.frames_anonymized == FRAMES
    assert report.frames_written == report.frames_anonymized == len(frames)
    assert all(is_painted(f.image) for f in frames)
    times = [f.time_s for f in frames]
    assert times == sorted(set(times))
    grid = Fraction(1, FPS)
    assert all(abs((t - times[0]) / grid - round((t - times[0]) / grid)) < 0.01 for t in times)


def test_repeating_keeps_the_frame_rate_with_the_last_anonymized_picture(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ts"
    settings = LiveSettings(
        latency_budget_ms=80, repeat_dropped=True, open_timeout_s=10, background_detection=False
    )
    report, _ = stream(clip, out, whole_frame_detector(delay_s=0.12), settings, config(detect_every=1))
    frames = read_frames(out)
    assert report.frames_repeated > 0
    assert report.frames_written == report.frames_anonymized + report.frames_repeated == len(frames)
    assert all(is_painted(f.image) for f in frames)
    steps = {round((b.time_s - a.time_s) * FPS, 3) for a, b in itertools.pairwise(frames)}
    assert steps == {1.0}  # no gaps: every dropped frame after the first picture has its stand-in


def test_a_slow_background_detector_holds_up_no_frame(make_video: MakeVideo, tmp_path: Path) -> None:
    # Big enough that frames a few apart are not scene cuts (those wait for their detection).
    clip = make_video("live_320.mp4", width=320, height=240, fps=FPS, frames=75)
    out = tmp_path / "out.ts"
    settings = LiveSettings(latency_budget_ms=80, open_timeout_s=10)
    report, _ = stream(clip, out, whole_frame_detector(delay_s=0.12), settings, config(detect_every=1))
    frames = read_frames(out)
    # The detector is asked on every frame it is free for, yet frames go on without waiting for it:
    # they carry the regions of the last detection (inline, every frame would be a detection frame).
    assert report.frames_propagated >= 20
    assert report.frames_written == report.frames_anonymized == len(frames)
    assert all(is_painted(f.image) for f in frames)


def test_a_detector_error_aborts_and_leaves_no_output(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ts"
    with pytest.raises(PrivacyError, match="detection failed"):
        stream(clip, out, FailingDetector(RuntimeError("model crashed"), fail_at=1), None, config(1))
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_hide_frame_mode_hides_failed_frames_whole_and_goes_on(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ts"
    detector = FailingDetector(RuntimeError("model crashed"), fail_at=1)
    report, _ = stream(clip, out, detector, None, config(1, FailMode.HIDE_FRAME))
    assert report.frames_hidden_whole > 0
    assert report.frames_read == report.frames_anonymized + report.frames_dropped
    assert report.frames_written == report.frames_anonymized == len(read_frames(out))


def test_a_source_that_refuses_the_connection_is_named_in_the_error(tmp_path: Path) -> None:
    url = f"tcp://127.0.0.1:{free_port()}"
    settings = LiveSettings(reconnect_attempts=2, reconnect_delay_s=0.01, open_timeout_s=2)
    started = time.monotonic()
    with (
        open_pipeline(config(), detector=whole_frame_detector(), anonymizer=RecordingAnonymizer()) as p,
        pytest.raises(UnreadableMediaError, match=rf"{url}: cannot open.*gave up after 2"),
    ):
        p.stream(url, str(tmp_path / "out.ts"), settings)
    assert time.monotonic() - started < 10
    assert not list(tmp_path.iterdir())


def test_a_file_played_in_real_time_takes_its_duration_and_can_be_stopped(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    stop = threading.Event()
    timer = threading.Timer(0.6, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        with open_pipeline(config(), detector=whole_frame_detector(), anonymizer=RecordingAnonymizer()) as p:
            report = p.stream(str(clip), str(out), LiveSettings(realtime=True), stop=stop)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert report.ended_by == "stopped"
    assert 0.5 < elapsed < FRAMES / FPS
    assert 0 < report.frames_read < FRAMES
    frames = read_frames(out)
    assert len(frames) == report.frames_written
    assert all(is_painted(f.image) for f in frames)


def test_frames_sent_over_udp_reach_a_receiver_anonymized(clip: Path, tmp_path: Path) -> None:
    port = free_port(__import__("socket").SOCK_DGRAM)
    received = tmp_path / "received.ts"
    receiver = threading.Thread(target=_record_udp, args=(port, received), daemon=True)
    receiver.start()
    time.sleep(0.3)  # let the receiver bind before anything is sent
    with open_pipeline(config(), detector=whole_frame_detector(), anonymizer=RecordingAnonymizer()) as p:
        report = p.stream(str(clip), f"udp://127.0.0.1:{port}?pkt_size=1316", LiveSettings(realtime=True))
    receiver.join(15)
    frames = read_frames(received)
    assert report.frames_written == FRAMES
    assert len(frames) >= FRAMES - 2  # UDP may lose the very first datagrams before the receiver reads
    assert all(is_painted(f.image) for f in frames)


def _record_udp(port: int, dst: Path) -> None:
    """Copy the MPEG-TS arriving on ``port`` into ``dst`` until the stream stays silent for a second."""
    import av
    import av.error

    with av.open(f"udp://127.0.0.1:{port}", "r", format="mpegts", timeout=(10, 1)) as src:
        stream = src.streams.video[0]
        with av.open(str(dst), "w", format="mpegts") as out:
            copy = out.add_stream_from_template(stream)
            try:
                for packet in src.demux(stream):
                    if packet.dts is not None:
                        packet.stream = copy
                        out.mux(packet)
            except av.error.ExitError:
                pass
