from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import MakeVideo
from veil.errors import ConfigError, OutputError
from veil.pipeline.config import EncoderConfig
from veil.types import Image
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

LIMIT = 8192 * 8192
LOCATION = "+48.8584+002.2945/"


def transcode(
    src: Path,
    dst: Path,
    *,
    edit: Callable[[Image], Image] = lambda image: image,
    **options: bool,
) -> int:
    """Read ``src``, write every frame (edited) to ``dst``, commit; return frames written."""
    with (
        VideoReader(src, max_pixels=LIMIT) as reader,
        VideoWriter(dst, src, reader.info, EncoderConfig(), **options) as writer,
    ):
        for frame in reader:
            writer.write(frame, edit(frame.image))
        writer.commit()
        return writer.frames_written


def video_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as container:
        return [f.pts * f.time_base for f in container.decode(video=0)]


def audio_packets(path: Path) -> list[tuple[Fraction, bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [
            (p.pts * p.time_base, bytes(p)) for p in container.demux(stream) if p.size and p.pts is not None
        ]


def first_frame_rotation(path: Path) -> int:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).rotation


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def test_round_trip_keeps_timing_size_rotation_audio_and_tags(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(
        "src.mp4",
        width=96,
        height=64,
        fps=30,
        frames=15,
        audio=True,
        title="Holiday",
        location=LOCATION,
        rotation=90,
    )
    dst = tmp_path / "out" / "anon.mp4"
    dst.parent.mkdir()
    assert transcode(src, dst) == 15
    assert video_times(dst) == video_times(src)
    assert len(video_times(dst)) == 15
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        vs, vd = a.streams.video[0], b.streams.video[0]
        assert (vd.width, vd.height) == (vs.width, vs.height) == (96, 64)
        assert vd.average_rate == vs.average_rate == Fraction(30)
        assert b.streams.audio[0].codec_context.name == a.streams.audio[0].codec_context.name == "aac"
        assert b.metadata["title"] == "Holiday"
        assert not [k for k in b.metadata if "location" in k.lower()]
        assert a.metadata["location"] == LOCATION  # the fixture really had one
    assert first_frame_rotation(dst) == first_frame_rotation(src) == 90
    source_audio = audio_packets(src)
    assert len(source_audio) > 20
    assert audio_packets(dst) == source_audio  # same count, times and bytes: copied, not re-encoded
    assert leftovers(dst.parent) == []


def test_written_pixels_are_the_given_images_not_the_source(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("src.mp4", width=64, height=48, frames=6)
    dst = tmp_path / "inverted.mp4"
    transcode(src, dst, edit=lambda image: 255 - image)
    with VideoReader(src, max_pixels=LIMIT) as a, VideoReader(dst, max_pixels=LIMIT) as b:
        for before, after in zip(a, b, strict=True):
            error = np.abs((255 - before.image.astype(int)) - after.image.astype(int)).mean()
            assert error < 8


def test_variable_frame_rate_is_kept(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("vfr.mp4", fps=25, frames=12, vfr=True)
    dst = tmp_path / "vfr_out.mp4"
    transcode(src, dst)
    times = video_times(dst)
    assert times == video_times(src)
    assert {b - a for a, b in itertools.pairwise(times)} == {
        Fraction(1, 25),
        Fraction(2, 25),
        Fraction(3, 25),
    }


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".avi", ".h264"])
def test_raw_h264_input_to_each_container(make_video: MakeVideo, tmp_path: Path, suffix: str) -> None:
    src = make_video("raw.h264", fps=25, frames=13)
    dst = tmp_path / f"out{suffix}"
    assert transcode(src, dst) == 13
    with VideoReader(dst, max_pixels=LIMIT) as reader:
        frames = list(reader)
        assert reader.info.frame_rate == Fraction(25)
    assert len(frames) == 13
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(13)])


def test_location_kept_when_not_stripping(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("src.mp4", title="T", location=LOCATION)
    dst = tmp_path / "kept.mp4"
    transcode(src, dst, strip_location=False)
    with av.open(str(dst)) as out:
        assert out.metadata["location"] == LOCATION


def test_audio_left_out_when_not_kept(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("src.mp4", audio=True)
    dst = tmp_path / "silent.mp4"
    transcode(src, dst, keep_audio=False)
    with av.open(str(dst)) as out:
        assert [s.type for s in out.streams] == ["video"]


def test_odd_size_is_padded_by_one_replicated_edge(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("odd.mp4", width=65, height=49, frames=4)
    dst = tmp_path / "even.mp4"
    assert transcode(src, dst) == 4
    with VideoReader(src, max_pixels=LIMIT) as a, VideoReader(dst, max_pixels=LIMIT) as b:
        assert (b.info.width, b.info.height) == (66, 50)
        pairs = list(zip(a, b, strict=True))
    luma = np.array([0.299, 0.587, 0.114])
    for before, after in pairs:
        # Compare brightness: the 4:4:4 source's per-pixel colour noise cannot survive 4:2:0.
        core = np.abs(before.image @ luma - after.image[:49, :65] @ luma).mean()
        assert core < 10
        np.testing.assert_allclose(after.image[:49, 65] @ luma, after.image[:49, 64] @ luma, atol=24)


def test_abort_by_exception_leaves_no_partial_and_keeps_existing_dst(
    make_video: MakeVideo, tmp_path: Path
) -> None:
    src = make_video("src.mp4", frames=8, audio=True)
    dst = tmp_path / "existing.mp4"
    dst.write_bytes(b"previous result")
    with (
        pytest.raises(KeyError),
        VideoReader(src, max_pixels=LIMIT) as reader,
        VideoWriter(dst, src, reader.info, EncoderConfig()) as writer,
    ):
        for frame in reader:
            writer.write(frame, frame.image)
            if frame.index == 3:
                assert writer.partial.exists()
                raise KeyError("detector failed")
    assert dst.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []


def test_leaving_without_commit_discards(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("src.mp4", frames=3)
    dst = tmp_path / "never.mp4"
    with (
        VideoReader(src, max_pixels=LIMIT) as reader,
        VideoWriter(dst, src, reader.info, EncoderConfig()) as w,
    ):
        for frame in reader:
            w.write(frame, frame.image)
    assert not dst.exists()
    assert leftovers(tmp_path) == []


def test_commit_without_frames_is_refused(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("src.mp4", frames=3)
    dst = tmp_path / "empty.mp4"
    with (
        VideoReader(src, max_pixels=LIMIT) as reader,
        VideoWriter(dst, src, reader.info, EncoderConfig()) as w,
        pytest.raises(OutputError, match="no frames"),
    ):
        w.commit()
    assert not dst.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("dst_name", "error", "message"),
    [
        ("src.mp4", OutputError, "input itself"),
        ("missing/out.mp4", OutputError, "does not exist"),
        ("afile/out.mp4", OutputError, "not a folder"),
        ("out.gif", OutputError, "unsupported video suffix"),
    ],
)
def test_unusable_destinations_are_refused(
    make_video: MakeVideo, tmp_path: Path, dst_name: str, error: type[Exception], message: str
) -> None:
    src = make_video("src.mp4")
    (tmp_path / "afile").write_bytes(b"")
    with VideoReader(src, max_pixels=LIMIT) as reader, pytest.raises(error, match=message):
        VideoWriter(tmp_path / dst_name, src, reader.info, EncoderConfig())
    assert src.stat().st_size > 0


def test_unwritable_folder_is_refused(make_video: MakeVideo) -> None:
    src = make_video("src.mp4")
    with VideoReader(src, max_pixels=LIMIT) as reader, pytest.raises(OutputError, match="/proc"):
        # Nobody, root included, can create files in /proc.
        VideoWriter(Path("/proc/veil-out.mp4"), src, reader.info, EncoderConfig()).open()


def test_unknown_encoder_is_a_config_error(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video("src.mp4")
    with VideoReader(src, max_pixels=LIMIT) as reader, pytest.raises(ConfigError, match="no-such-encoder"):
        VideoWriter(tmp_path / "x.mp4", src, reader.info, EncoderConfig(codec="no-such-encoder"))


def test_colours_survive_encoding_and_frames_of_another_size_are_scaled(
    make_video: MakeVideo, tmp_path: Path
) -> None:
    src = make_video("src.mp4", width=64, height=48, frames=4)
    dst = tmp_path / "flat.mp4"
    colour = np.array([200, 100, 50], np.uint8)
    with (
        VideoReader(src, max_pixels=LIMIT) as reader,
        VideoWriter(dst, src, reader.info, EncoderConfig()) as writer,
    ):
        for frame in reader:
            size = (48, 64) if frame.index % 2 == 0 else (24, 32)  # odd frames arrive at half size
            writer.write(frame, np.broadcast_to(colour, (*size, 3)).copy())
        writer.commit()
    with VideoReader(dst, max_pixels=LIMIT) as result:
        frames = [f.image for f in result]
    assert [f.shape for f in frames] == [(48, 64, 3)] * 4
    for image in frames:
        np.testing.assert_allclose(image.reshape(-1, 3).mean(axis=0), colour, atol=3)


def write_with_side_stream(path: Path, kind: str) -> list[bytes]:
    """Write 10 frames plus a subtitle (mkv) or raw data (ts) stream; return the side packets' bytes."""
    payloads = [f"+48.85+002.29 sample {k}".encode() for k in range(3)]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        side = out.add_mux_stream("subrip") if kind == "subtitle" else out.add_data_stream("bin_data")
        side.time_base = Fraction(1, 1000)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        for k, payload in enumerate(payloads):
            packet = av.Packet(payload)
            packet.stream, packet.pts, packet.dts, packet.duration = side, k * 100, k * 100, 50
            packet.time_base = Fraction(1, 1000)
            out.mux(packet)
        out.mux(video.encode(None))
    return payloads


def side_packets(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == kind]
        return [bytes(p) for p in container.demux(streams) if p.size] if streams else []


def test_subtitles_are_copied(tmp_path: Path) -> None:
    src = tmp_path / "subs.mkv"
    payloads = write_with_side_stream(src, "subtitle")
    dst = tmp_path / "anon.mkv"
    assert transcode(src, dst) == 10
    assert side_packets(dst, "subtitle") == payloads


@pytest.mark.parametrize("strip_location", [True, False])
def test_data_streams_are_dropped_when_stripping_location(tmp_path: Path, strip_location: bool) -> None:
    # Data streams carry telemetry such as GPS tracks (GoPro GPMF, drone KLV).
    src = tmp_path / "telemetry.ts"
    payloads = write_with_side_stream(src, "data")
    assert side_packets(src, "data") == payloads
    dst = tmp_path / "anon.ts"
    assert transcode(src, dst, strip_location=strip_location) == 10
    assert side_packets(dst, "data") == ([] if strip_location else payloads)
