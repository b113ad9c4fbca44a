"""Readers of the dlib XML and OpenALPR annotation formats, on tiny files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from veil.errors import ConfigError, UnreadableMediaError
from veil.evaluation.datasets import AnnotatedImage, load_rgb, read_dlib_xml, read_openalpr_dir
from veil.types import ObjectClass

_DLIB = """<?xml version='1.0' encoding='ISO-8859-1'?>
<dataset>
<name>t</name>
<images>
  <image file='a.jpg' width='500' height='375'>
    <box top='90' left='194' width='37' height='37'/>
    <box top='10' left='20' width='30' height='40'><part name='01' x='1' y='2'/></box>
    <box top='1' left='2' width='3' height='4' ignore='1'/>
  </image>
  <image file='sub/b.jpg'>
  </image>
</images>
</dataset>
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_dlib_xml_reads_boxes_as_xyxy(tmp_path: Path) -> None:
    items = read_dlib_xml(_write(tmp_path / "t.xml", _DLIB))
    assert [i.image_path for i in items] == [tmp_path / "a.jpg", tmp_path / "sub" / "b.jpg"]
    first = items[0]
    assert first.label is ObjectClass.FACE
    assert first.boxes_xyxy == ((194.0, 90.0, 231.0, 127.0), (20.0, 10.0, 50.0, 50.0))
    assert first.size_wh == (500, 375)
    assert first.texts == (None, None)
    assert first.boxes.shape == (2, 4) and first.boxes.dtype == np.float32
    assert items[1].boxes_xyxy == () and items[1].size_wh is None and items[1].boxes.shape == (0, 4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "<dataset><images><image file='a.jpg'><box top='1' left='2' width='3'/></image>"
            "</images></dataset>",
            "lacks the 'height' attribute",
        ),
        (
            "<dataset><images><image file='a.jpg'><box top='1' left='x' width='3' height='4'/></image>"
            "</images></dataset>",
            "left='x' is not an integer",
        ),
        (
            "<dataset><images><image file='a.jpg'><box top='1' left='2' width='0' height='4'/></image>"
            "</images></dataset>",
            "non-positive size",
        ),
        (
            "<dataset><images><image><box top='1' left='2' width='3' height='4'/></image></images></dataset>",
            "no file attribute",
        ),
        ("<other/>", "not a dlib imglab file"),
        ("<dataset><images>", "not valid XML"),
    ],
)
def test_read_dlib_xml_rejects_malformed_files(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_dlib_xml(_write(tmp_path / "bad.xml", body))


def test_read_dlib_xml_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read annotations"):
        read_dlib_xml(tmp_path / "absent.xml")


def test_read_openalpr_dir_reads_box_and_text(tmp_path: Path) -> None:
    _write(tmp_path / "eu1.txt", "eu1.jpg\t396\t340\t203\t46\tM5XSX\n")
    _write(tmp_path / "a0.txt", "a0.png\t0\t1\t10\t5\tAB 12-3\n")
    (tmp_path / "eu1.jpg").write_bytes(b"")  # images are not read here
    items = read_openalpr_dir(tmp_path)
    assert [i.image_path.name for i in items] == ["a0.png", "eu1.jpg"]
    eu1 = items[1]
    assert eu1.label is ObjectClass.LICENSE_PLATE
    assert eu1.boxes_xyxy == ((396.0, 340.0, 599.0, 386.0),)
    assert eu1.texts == ("M5XSX",)
    assert items[0].texts == ("AB 12-3",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("eu1.jpg\t1\t2\t3\t4\n", "expected 6 tab-separated fields"),
        ("eu1.jpg 1 2 3 4 ABC\n", "got 1"),
        ("eu1.jpg\t1\t2\tx\t4\tABC\n", "must be integers"),
        ("eu1.jpg\t1\t2\t3\t-4\tABC\n", "non-positive size"),
        ("\n", "is empty"),
        ("eu1.jpg\t1\t2\t3\t4\tABC\neu2.jpg\t1\t2\t3\t4\tDEF\n", "names image 'eu2.jpg'"),
    ],
)
def test_read_openalpr_dir_rejects_malformed_files(tmp_path: Path, body: str, message: str) -> None:
    _write(tmp_path / "eu1.txt", body)
    with pytest.raises(ConfigError, match=message):
        read_openalpr_dir(tmp_path)


def test_read_openalpr_dir_needs_annotation_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"holds no OpenALPR \.txt"):
        read_openalpr_dir(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_openalpr_dir(tmp_path / "absent")


def test_rebased_points_into_the_mirror(tmp_path: Path) -> None:
    item = AnnotatedImage(tmp_path / "in" / "x" / "a.jpg", ((0.0, 0.0, 1.0, 1.0),), ObjectClass.FACE)
    moved = item.rebased(tmp_path / "in", tmp_path / "out")
    assert moved.image_path == tmp_path / "out" / "x" / "a.jpg"
    assert moved.boxes_xyxy == item.boxes_xyxy
    with pytest.raises(ConfigError, match="is not under"):
        item.rebased(tmp_path / "elsewhere", tmp_path / "out")


def test_annotated_image_checks_texts_length() -> None:
    with pytest.raises(ValueError, match="2 texts for 1 boxes"):
        AnnotatedImage(Path("a.jpg"), ((0.0, 0.0, 1.0, 1.0),), ObjectClass.LICENSE_PLATE, ("A", "B"))


def test_load_rgb_returns_stored_rgb_pixels(tmp_path: Path) -> None:
    pixels = np.zeros((3, 4, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    PILImage.fromarray(pixels).save(tmp_path / "a.png")
    loaded = load_rgb(tmp_path / "a.png")
    assert loaded.shape == (3, 4, 3) and loaded.dtype == np.uint8
    assert tuple(loaded[0, 0]) == (255, 0, 0)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(UnreadableMediaError, match="cannot read image"):
        load_rgb(tmp_path / "bad.png")
