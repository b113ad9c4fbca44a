from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image as PILImage

from veil.errors import OutputError, UnreadableMediaError, UnsupportedFrameError
from veil.video.image_io import LoadedImage, load_image, save_image

LIMIT = 8192 * 8192
RED, GREEN, BLUE, WHITE = (220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 240, 240)


def quadrants(width: int = 40, height: int = 30) -> np.ndarray:
    """Stored pixels: red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:], image[h:, :w], image[h:, w:] = RED, GREEN, BLUE, WHITE
    return image


def thumbnail_jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(quadrants(8, 6)).save(buffer, format="JPEG")
    return buffer.getvalue()


def camera_exif(orientation: int = 6) -> bytes:
    return piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Make: b"VeilCam",
                piexif.ImageIFD.Model: b"Model 1",
                piexif.ImageIFD.DateTime: b"2024:05:01 12:00:00",
                piexif.ImageIFD.Orientation: orientation,
            },
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 12:00:00",
                piexif.ExifIFD.BodySerialNumber: b"SN-123456",
                piexif.ExifIFD.LensSerialNumber: b"LENS-987",
                piexif.ExifIFD.CameraOwnerName: b"Jane Doe",
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (30, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: ((2, 1), (17, 1), (40, 1)),
            },
            "1st": {piexif.ImageIFD.JPEGInterchangeFormat: 0, piexif.ImageIFD.JPEGInterchangeFormatLength: 0},
            "thumbnail": thumbnail_jpeg(),
        }
    )


def write_jpeg(path: Path, exif: bytes | None = None) -> Path:
    options = {"quality": 95} if exif is None else {"quality": 95, "exif": exif}
    PILImage.fromarray(quadrants()).save(path, format="JPEG", **options)
    return path


def mean_color(image: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    return image[rows, cols].reshape(-1, 3).mean(axis=0)


def assert_color(image: np.ndarray, rows: slice, cols: slice, color: tuple[int, int, int]) -> None:
    np.testing.assert_allclose(mean_color(image, rows, cols), color, atol=12)


def assert_upright_orientation_6(image: np.ndarray) -> None:
    """Orientation 6 turns the stored 40×30 picture 90° clockwise: upright it is 30 wide, 40 tall."""
    assert image.shape == (40, 30, 3)
    top, bottom, left, right = slice(2, 18), slice(22, 38), slice(2, 13), slice(17, 28)
    assert_color(image, top, left, BLUE)
    assert_color(image, top, right, RED)
    assert_color(image, bottom, left, WHITE)
    assert_color(image, bottom, right, GREEN)


def test_load_applies_exif_orientation(tmp_path: Path) -> None:
    loaded = load_image(write_jpeg(tmp_path / "rotated.jpg", camera_exif(6)), max_pixels=LIMIT)
    assert loaded.orientation == 6
    assert loaded.format == "JPEG"
    assert loaded.exif is not None
    assert loaded.image.dtype == np.uint8
    assert loaded.image.flags["C_CONTIGUOUS"]
    assert_upright_orientation_6(loaded.image)


def test_orientation_6_round_trip_is_saved_upright_with_orientation_1(tmp_path: Path) -> None:
    loaded = load_image(write_jpeg(tmp_path / "rotated.jpg", camera_exif(6)), max_pixels=LIMIT)
    dst = tmp_path / "anon.jpg"
    save_image(dst, loaded.image, loaded)
    with PILImage.open(dst) as saved:
        assert saved.format == "JPEG"
        assert saved.size == (30, 40)
        assert saved.getexif()[0x0112] == 1
    reloaded = load_image(dst, max_pixels=LIMIT)
    assert reloaded.orientation == 1
    assert_upright_orientation_6(reloaded.image)  # looks the same as the original did in a viewer


def test_gps_serials_and_thumbnail_stripped_other_exif_kept(tmp_path: Path) -> None:
    loaded = load_image(write_jpeg(tmp_path / "camera.jpg", camera_exif(1)), max_pixels=LIMIT)
    dst = tmp_path / "anon.jpg"
    save_image(dst, loaded.image, loaded)
    with PILImage.open(dst) as saved:
        tags = piexif.load(saved.info["exif"])
    assert tags["GPS"] == {}
    assert piexif.ImageIFD.GPSTag not in tags["0th"]
    exif_ifd = piexif.ExifIFD
    for tag in (exif_ifd.BodySerialNumber, exif_ifd.LensSerialNumber, exif_ifd.CameraOwnerName):
        assert tag not in tags["Exif"]
    assert tags["thumbnail"] is None
    assert tags["0th"][piexif.ImageIFD.Make] == b"VeilCam"
    assert tags["0th"][piexif.ImageIFD.DateTime] == b"2024:05:01 12:00:00"
    assert tags["Exif"][piexif.ExifIFD.DateTimeOriginal] == b"2024:05:01 12:00:00"


def test_gps_and_serials_kept_when_not_stripping_but_thumbnail_never(tmp_path: Path) -> None:
    loaded = load_image(write_jpeg(tmp_path / "camera.jpg", camera_exif(1)), max_pixels=LIMIT)
    dst = tmp_path / "kept.jpg"
    save_image(dst, loaded.image, loaded, strip_location=False)
    with PILImage.open(dst) as saved:
        tags = piexif.load(saved.info["exif"])
    assert tags["GPS"][piexif.GPSIFD.GPSLatitudeRef] == b"N"
    assert tags["Exif"][piexif.ExifIFD.BodySerialNumber] == b"SN-123456"
    assert tags["thumbnail"] is None  # a copy of the un-anonymized picture


def test_saved_pixels_are_the_given_ones(tmp_path: Path) -> None:
    loaded = load_image(write_jpeg(tmp_path / "plain.jpg"), max_pixels=LIMIT)
    hidden = np.full_like(loaded.image, 128)
    dst = tmp_path / "grey.jpg"
    save_image(dst, hidden, loaded)
    assert np.abs(load_image(dst, max_pixels=LIMIT).image.astype(int) - 128).max() <= 2
    assert_color(loaded.image, slice(0, 15), slice(0, 20), RED)  # the loaded copy is untouched


def test_png_stays_png_lossless_with_alpha(tmp_path: Path) -> None:
    rgba = np.dstack([quadrants(), np.linspace(0, 255, 40 * 30).astype(np.uint8).reshape(30, 40)])
    src = tmp_path / "logo.png"
    PILImage.fromarray(rgba).save(src)
    loaded = load_image(src, max_pixels=LIMIT)
    assert loaded.format == "PNG"
    np.testing.assert_array_equal(loaded.image, rgba[..., :3])
    edited = loaded.image.copy()
    edited[:5] = 0
    dst = tmp_path / "anon.png"
    save_image(dst, edited, loaded)
    with PILImage.open(dst) as saved:
        assert saved.format == "PNG"
        assert saved.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(saved)[..., :3], edited)
        np.testing.assert_array_equal(np.asarray(saved)[..., 3], rgba[..., 3])


def test_dst_suffix_picks_the_format(tmp_path: Path) -> None:
    loaded = load_image(write_jpeg(tmp_path / "photo.jpg"), max_pixels=LIMIT)
    save_image(tmp_path / "photo.png", loaded.image, loaded)
    with PILImage.open(tmp_path / "photo.png") as saved:
        assert saved.format == "PNG"


def png_header_claiming(path: Path, width: int, height: int) -> Path:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(data + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    return path


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (100_000, 100_000)])
def test_absurd_header_sizes_are_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    # filterwarnings=error: Pillow's DecompressionBombWarning must not escape.
    path = png_header_claiming(tmp_path / "bomb.png", width, height)
    with pytest.raises(UnsupportedFrameError, match=r"bomb|max_pixels") as caught:
        load_image(path, max_pixels=LIMIT)
    assert str(path) in str(caught.value)


def test_images_over_max_pixels_are_refused(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "small.jpg")
    with pytest.raises(UnsupportedFrameError, match="40×30"):
        load_image(path, max_pixels=40 * 30 - 1)
    assert load_image(path, max_pixels=40 * 30).image.shape == (30, 40, 3)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file"),
        ("empty", "empty"),
        ("text", "not an image"),
        ("truncated", r"(?i)truncated"),
    ],
)
def test_unreadable_images(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "photo.jpg"
    if setup == "empty":
        path.write_bytes(b"")
    elif setup == "text":
        path.write_text("not a picture at all\n")
    elif setup == "truncated":
        data = write_jpeg(tmp_path / "full.jpg").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableMediaError, match=message):
        load_image(path, max_pixels=LIMIT)


def test_save_refuses_the_source_and_failures_leave_dst_alone(tmp_path: Path) -> None:
    src = write_jpeg(tmp_path / "photo.jpg", camera_exif(1))
    loaded = load_image(src, max_pixels=LIMIT)
    with pytest.raises(OutputError, match="input itself"):
        save_image(src, loaded.image, loaded)
    dst = tmp_path / "existing.jpg"
    dst.write_bytes(b"previous result")
    # JPEG cannot hold more than 64 KiB of EXIF: Pillow fails mid-save.
    huge = piexif.dump({"0th": {piexif.ImageIFD.ImageDescription: b"x" * 70_000}})
    broken = LoadedImage(image=loaded.image, path=src, format="JPEG", exif=huge)
    with pytest.raises(OutputError, match=str(dst)):
        save_image(dst, loaded.image, broken, strip_location=False)
    assert dst.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_unparsable_exif_is_dropped_rather_than_copied(tmp_path: Path) -> None:
    src = write_jpeg(tmp_path / "photo.jpg")
    loaded = load_image(src, max_pixels=LIMIT)
    odd = LoadedImage(image=loaded.image, path=src, format="JPEG", exif=b"Exif\x00\x00garbage-not-tiff")
    dst = tmp_path / "anon.jpg"
    save_image(dst, loaded.image, odd)
    with PILImage.open(dst) as saved:
        assert "exif" not in saved.info
