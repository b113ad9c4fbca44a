from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import piexif
import pytest
from PIL import Image as PILImage

from veil.pipeline.config import EncoderConfig
from veil.video.image_io import load_image, save_image
from veil.video.probe import MediaKind, probe_media
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

pytestmark = pytest.mark.integration

LIMIT = 8192 * 8192

# From ../shared/data/README.md: frames that actually decode, size, frame rate.
VIDEOS = [
    ("video/dashcam_highway_640x360.mp4", 414, (640, 360), Fraction(30)),
    ("video/vtest_pets_480x360.avi", 795, (480, 360), Fraction(10)),
    ("video/MOT20-08-raw_shorter.h264", 127, (960, 366), Fraction(25)),
]


@pytest.mark.parametrize(("name", "frames", "size", "fps"), VIDEOS)
def test_shared_videos_decode_completely(
    data_dir: Path, name: str, frames: int, size: tuple[int, int], fps: Fraction
) -> None:
    path = data_dir / name
    assert probe_media(path) is MediaKind.VIDEO
    with VideoReader(path, max_pixels=LIMIT) as reader:
        assert (reader.info.width, reader.info.height) == size
        assert reader.info.frame_rate == fps
        count, last_time = 0, -1.0
        for frame in reader:
            assert frame.index == count
            assert frame.image.shape == (size[1], size[0], 3)
            assert frame.time_s is not None and frame.time_s > last_time
            last_time = frame.time_s
            count += 1
    assert count == frames
    assert last_time == pytest.approx((frames - 1) / fps)


def audio_packets(path: Path) -> list[tuple[Fraction, bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [
            (p.pts * p.time_base, bytes(p)) for p in container.demux(stream) if p.size and p.pts is not None
        ]


@pytest.mark.parametrize(
    ("name", "frames", "suffix"),
    [("video/dashcam_highway_640x360.mp4", 414, ".mp4"), ("video/MOT20-08-raw_shorter.h264", 127, ".mp4")],
)
def test_shared_video_round_trip(data_dir: Path, tmp_path: Path, name: str, frames: int, suffix: str) -> None:
    src = data_dir / name
    dst = tmp_path / f"anon{suffix}"
    with VideoReader(src, max_pixels=LIMIT) as reader:
        info = reader.info
        with VideoWriter(dst, src, info, EncoderConfig()) as writer:
            for frame in reader:
                writer.write(frame, frame.image)
            writer.commit()
    with VideoReader(dst, max_pixels=LIMIT) as reader:
        assert (reader.info.width, reader.info.height) == (info.width, info.height)
        assert reader.info.frame_rate == info.frame_rate
        assert sum(1 for _ in reader) == frames
    if info.has_audio:
        assert audio_packets(dst) == audio_packets(src)
        with av.open(str(src)) as a, av.open(str(dst)) as b:
            assert b.metadata.get("creation_time") == a.metadata.get("creation_time")


def test_real_photo_loses_gps_keeps_camera(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "plates/openalpr_eu/eu8.jpg"
    with PILImage.open(src) as original:
        before = piexif.load(original.info["exif"])
    assert before["GPS"], "the sample photo should carry GPS"
    loaded = load_image(src, max_pixels=LIMIT)
    dst = tmp_path / "eu8.jpg"
    save_image(dst, loaded.image, loaded)
    with PILImage.open(dst) as saved:
        after = piexif.load(saved.info["exif"])
        assert saved.size == (loaded.image.shape[1], loaded.image.shape[0])
    assert after["GPS"] == {}
    assert after["0th"][piexif.ImageIFD.Make] == before["0th"][piexif.ImageIFD.Make]
