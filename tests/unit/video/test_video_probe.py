from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import MakeVideo
from veil.errors import UnreadableMediaError
from veil.video.probe import MediaKind, looks_like_media, probe_media


def write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        samples = np.zeros((1, 4800), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def png_header_claiming(path: Path, width: int, height: int) -> Path:
    """Write a PNG whose header claims ``width``×``height`` but holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(data + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    return path


def test_still_images_are_images(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    for name in ("a.jpg", "a.png", "a.webp"):
        PILImage.fromarray(rgb).save(tmp_path / name)
        assert probe_media(tmp_path / name) is MediaKind.IMAGE


def test_kind_comes_from_content_not_suffix(tmp_path: Path, make_video: MakeVideo) -> None:
    disguised_image = tmp_path / "photo.mp4"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(disguised_image, format="JPEG")
    assert probe_media(disguised_image) is MediaKind.IMAGE
    disguised_video = make_video("clip.jpg.mkv").rename(tmp_path / "clip.jpg")
    assert probe_media(disguised_video) is MediaKind.VIDEO


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv", "clip.avi", "clip.h264"])
def test_videos_are_videos(make_video: MakeVideo, name: str) -> None:
    assert probe_media(make_video(name)) is MediaKind.VIDEO


def test_animated_gif_is_video_single_frame_gif_is_image(tmp_path: Path) -> None:
    frames = [PILImage.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 120, 240)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    frames[0].save(tmp_path / "still.gif")
    assert probe_media(tmp_path / "anim.gif") is MediaKind.VIDEO
    assert probe_media(tmp_path / "still.gif") is MediaKind.IMAGE


def test_huge_image_header_is_still_an_image_without_warnings(tmp_path: Path) -> None:
    # filterwarnings=error: a leaked DecompressionBombWarning would fail this test.
    assert probe_media(png_header_claiming(tmp_path / "big.png", 10_000, 10_000)) is MediaKind.IMAGE
    assert probe_media(png_header_claiming(tmp_path / "bomb.png", 100_000, 100_000)) is MediaKind.IMAGE


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("empty", "empty"),
        ("text", "not an image or video"),
        ("audio", "no video stream"),
        ("ansi", "text file"),
    ],
)
def test_unreadable_inputs_name_path_and_problem(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "input.mp4"
    if setup == "directory":
        path.mkdir()
    elif setup == "empty":
        path.write_bytes(b"")
    elif setup == "text":
        path.write_text("this is not a video\n" * 20)
    elif setup == "audio":
        path = write_audio_only(tmp_path / "sound.m4a")
    elif setup == "ansi":
        path = tmp_path / "notes.ans"  # FFmpeg's tty demuxer would render it as video
        path.write_text("hello\nworld\n")
    with pytest.raises(UnreadableMediaError, match=message) as caught:
        probe_media(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("head", "media"),
    [
        (b"\xff\xd8\xff\xe0", True),
        (b"\x00\x00\x00\x18ftypisom", True),
        (b"\x1aE\xdf\xa3\x01", True),
        (b"RIFF\x00\x00\x00\x00AVI ", True),
        (b"\x00\x00\x00\x01\x67", True),
        (b"BM plates", False),
        (b'{"format": "veil-detections/1"}', False),
        (b"G" + b"x" * 600, False),
    ],
)
def test_a_file_without_a_media_suffix_is_media_when_it_starts_like_media(
    tmp_path: Path, head: bytes, media: bool
) -> None:
    path = tmp_path / "export"
    path.write_bytes(head)
    assert looks_like_media(path) is media


def test_transport_streams_are_recognised_by_their_sync_bytes(tmp_path: Path) -> None:
    packet = b"\x47" + b"\xff" * 187
    path = tmp_path / "recording"
    path.write_bytes(packet * 3)
    assert looks_like_media(path)
