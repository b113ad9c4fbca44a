from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import MakeVideo
from veil.errors import TruncatedMediaError, UnreadableMediaError, UnsupportedFrameError
from veil.types import Frame
from veil.video.reader import VideoReader

LIMIT = 8192 * 8192


def read_all(path: Path, max_pixels: int = LIMIT) -> list[Frame]:
    with VideoReader(path, max_pixels=max_pixels) as reader:
        return list(reader)


def pyav_times(path: Path) -> list[Fraction]:
    """Presentation times straight from PyAV, for containers that store them reliably."""
    with av.open(str(path)) as container:
        return [f.pts * f.time_base for f in container.decode(video=0)]


def test_info_describes_the_stream(make_video: MakeVideo) -> None:
    path = make_video("clip.mp4", width=96, height=64, fps=30, frames=12, audio=True, rotation=90)
    with VideoReader(path, max_pixels=LIMIT) as reader:
        info = reader.info
    assert (info.width, info.height) == (96, 64)
    assert info.frame_rate == Fraction(30)
    assert info.frame_count == 12
    assert info.has_audio
    assert info.rotation_deg == 90
    assert info.codec == "h264"


def test_frames_are_rgb_contiguous_in_order_with_exact_times(make_video: MakeVideo) -> None:
    path = make_video("clip.mp4", width=64, height=48, fps=25, frames=10)
    frames = read_all(path)
    assert [f.index for f in frames] == list(range(10))
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(10)])
    assert [f.pts * f.time_base for f in frames if f.pts is not None and f.time_base] == pyav_times(path)
    with av.open(str(path)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    for frame in frames:
        assert frame.image.shape == (48, 64, 3)
        assert frame.image.dtype == np.uint8
        assert frame.image.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(frames[0].image, first)
    assert not np.array_equal(frames[0].image, frames[5].image)  # the square moved


def test_variable_frame_rate_times_are_kept(make_video: MakeVideo) -> None:
    path = make_video("vfr.mkv", fps=25, frames=9, vfr=True)
    times = [f.pts * f.time_base for f in read_all(path) if f.pts is not None and f.time_base is not None]
    assert times == pyav_times(path)
    gaps = {b - a for a, b in itertools.pairwise(times)}
    assert gaps == {Fraction(1, 25), Fraction(2, 25), Fraction(3, 25)}


def test_raw_h264_has_no_frame_count_and_synthesized_times(make_video: MakeVideo) -> None:
    path = make_video("clip.h264", fps=25, frames=11)
    with VideoReader(path, max_pixels=LIMIT) as reader:
        assert reader.info.frame_count is None
        assert reader.info.frame_rate == Fraction(25)
        frames = list(reader)
    assert len(frames) == 11
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(11)])


def test_avi_b_frames_get_increasing_times(make_video: MakeVideo) -> None:
    # AVI stores decode order only: PyAV reports shuffled pts for frames behind B-frames.
    path = make_video("clip.avi", fps=25, frames=10)
    frames = read_all(path)
    assert len(frames) == 10
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(10)])


def test_odd_frame_size_is_read_exactly(make_video: MakeVideo) -> None:
    frames = read_all(make_video("odd.mp4", width=65, height=49, frames=3))
    assert [f.image.shape for f in frames] == [(49, 65, 3)] * 3


def test_frames_over_max_pixels_are_refused(make_video: MakeVideo) -> None:
    path = make_video("clip.mp4", width=64, height=48)
    with pytest.raises(UnsupportedFrameError, match=r"64×48.*max_pixels=3071"):
        VideoReader(path, max_pixels=64 * 48 - 1).open()
    assert len(read_all(path, max_pixels=64 * 48)) == 10


def test_info_and_iteration_need_an_open_reader(make_video: MakeVideo) -> None:
    reader = VideoReader(make_video(), max_pixels=LIMIT)
    with pytest.raises(RuntimeError, match="not open"):
        _ = reader.info
    with pytest.raises(RuntimeError, match="not open"):
        iter(reader)


def write_undecodable(path: Path) -> Path:
    """An MP4 whose video codec (MPEG-5 EVC) this FFmpeg build can mux but not decode."""
    with av.open(str(path), "w") as out:
        stream = out.add_mux_stream("evc", rate=25, width=64, height=48)
        for i in range(3):
            packet = av.Packet(b"\x00\x00\x01" + bytes(64))
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, Fraction(1, 25)
            out.mux(packet)
    return path


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("empty", "empty"),
        ("text", "not a video FFmpeg can read"),
        ("image_only_audio", "no video stream"),
        ("no_decoder", "no decoder"),
    ],
)
def test_unreadable_inputs_raise_veil_errors(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "input.mp4"
    if setup == "directory":
        path.mkdir()
    elif setup == "empty":
        path.write_bytes(b"")
    elif setup == "text":
        path.write_text("definitely not a video\n" * 50)
    elif setup == "image_only_audio":
        with av.open(str(path), "w") as out:
            stream = out.add_stream("aac", rate=48000, layout="mono")
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 2048), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    elif setup == "no_decoder":
        write_undecodable(path)
    with pytest.raises(UnreadableMediaError, match=message) as caught:
        read_all(path)
    assert str(path) in str(caught.value)


def outcome(path: Path) -> int | UnreadableMediaError:
    """Frames read, or the Veil error raised; any other exception fails the test."""
    try:
        return len(read_all(path))
    except UnreadableMediaError as exc:
        return exc


@pytest.mark.parametrize(
    ("name", "error"),
    [("cut.mp4", UnreadableMediaError), ("cut.mkv", TruncatedMediaError), ("cut.avi", TruncatedMediaError)],
)
def test_truncated_file_is_refused(make_video: MakeVideo, name: str, error: type[Exception]) -> None:
    # The MP4 lost its index (at the end); Matroska and AVI state a length the frames fall short of.
    path = make_video(name, width=64, height=48, frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(error):
        read_all(path)


def test_truncated_file_accepted_yields_what_decodes_and_says_so(make_video: MakeVideo) -> None:
    path = make_video("cut.mkv", width=64, height=48, frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with VideoReader(path, max_pixels=LIMIT, accept_truncated=True) as reader:
        frames = list(reader)
        assert reader.damage is not None and "declares" in reader.damage
    assert 0 < len(frames) < 30


def test_raw_stream_states_no_length_so_a_cut_one_yields_fewer_frames(make_video: MakeVideo) -> None:
    path = make_video("cut.h264", width=64, height=48, frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = outcome(path)
    assert isinstance(result, UnreadableMediaError) or 0 < result < 30


@pytest.mark.parametrize("name", ["bad.mp4", "bad.mkv", "bad.h264"])
def test_corrupt_middle_yields_at_most_all_frames_or_a_veil_error(make_video: MakeVideo, name: str) -> None:
    path = make_video(name, width=64, height=48, frames=30)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    result = outcome(path)
    assert isinstance(result, UnreadableMediaError) or 0 < result <= 30


def test_decode_error_mid_stream_names_the_frame(make_video: MakeVideo) -> None:
    # PNG frames decode independently, so corrupting one frame's pixel data is an error FFmpeg reports.
    path = make_video("png.mov", codec="png", width=32, height=24, frames=8)
    data = bytearray(path.read_bytes())
    signatures = [i for i in range(len(data)) if data.startswith(b"IDAT", i)]
    assert len(signatures) == 8
    target = signatures[5] + 4
    data[target : target + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(TruncatedMediaError, match="at frame 5"):
        read_all(path)
