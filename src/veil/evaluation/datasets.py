"""Read annotated image sets (dlib imglab XML, OpenALPR benchmark text files) into plain records."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from veil.errors import ConfigError, UnreadableMediaError
from veil.types import Image, ObjectClass

__all__ = ["AnnotatedImage", "BoxXYXY", "load_rgb", "read_dlib_xml", "read_openalpr_dir"]

BoxXYXY = tuple[float, float, float, float]

_OPENALPR_FIELDS = 6


@dataclass(frozen=True)
class AnnotatedImage:
    """One image and the boxes annotated on it, all of one class.

    Args:
        image_path: the image file.
        boxes_xyxy: one ``(x1, y1, x2, y2)`` pixel box per annotated object (x2, y2 exclusive).
        label: the class of every box.
        texts: per box, the text written on it (plates), or ``None`` where the set gives none.
        size_wh: ``(width, height)`` the annotation states, when it states one.
    """

    image_path: Path
    boxes_xyxy: tuple[BoxXYXY, ...]
    label: ObjectClass
    texts: tuple[str | None, ...] = ()
    size_wh: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not self.texts:
            object.__setattr__(self, "texts", (None,) * len(self.boxes_xyxy))
        if len(self.texts) != len(self.boxes_xyxy):
            raise ValueError(f"{len(self.texts)} texts for {len(self.boxes_xyxy)} boxes")

    @property
    def boxes(self) -> npt.NDArray[np.float32]:
        """Return the boxes as an (N, 4) float32 xyxy array."""
        return np.asarray(self.boxes_xyxy, np.float32).reshape(-1, 4)

    def rebased(self, src_root: Path, dst_root: Path) -> AnnotatedImage:
        """Return a copy whose image lies at the same place under ``dst_root`` as it does under ``src_root``.

        Used to point the annotations of an input folder at its anonymized mirror.
        """
        try:
            relative = self.image_path.relative_to(src_root)
        except ValueError:
            raise ConfigError(f"{self.image_path} is not under {src_root}") from None
        return replace(self, image_path=dst_root / relative)


def load_rgb(path: Path) -> Image:
    """Return the image file ``path`` as H×W×3 uint8 RGB, pixels as stored (no EXIF rotation).

    Annotations are in the stored pixel grid, so the orientation tag is deliberately not applied.
    """
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as img:
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise UnreadableMediaError(f"cannot read image {path}: {exc}") from exc
    return np.ascontiguousarray(rgb)


def read_dlib_xml(path: Path) -> list[AnnotatedImage]:
    """Read a dlib imglab XML file (``<image file=…><box top left width height/>``) as face boxes.

    Image paths are resolved against the XML file's folder. Boxes marked ``ignore='1'`` are left out:
    dlib uses them for faces that should count neither as found nor as missed.

    Raises:
        ConfigError: the file cannot be read, is not XML, or an element lacks a needed attribute.
    """
    try:
        root = ET.parse(path).getroot()
    except OSError as exc:
        raise ConfigError(f"cannot read annotations {path}: {exc.strerror or exc}") from exc
    except ET.ParseError as exc:
        raise ConfigError(f"{path} is not valid XML: {exc}") from exc
    images_el = root.find("images")
    if root.tag != "dataset" or images_el is None:
        raise ConfigError(f"{path} is not a dlib imglab file: expected <dataset><images>…")
    items: list[AnnotatedImage] = []
    for image_el in images_el.findall("image"):
        file_name = image_el.get("file")
        if not file_name:
            raise ConfigError(f"{path}: an <image> element has no file attribute")
        where = f"{path}: image {file_name!r}"
        boxes: list[BoxXYXY] = []
        for box_el in image_el.findall("box"):
            if box_el.get("ignore", "0") == "1":
                continue
            left, top, width, height = (_int_attr(box_el, name, where) for name in _DLIB_BOX_ATTRS)
            if width <= 0 or height <= 0:
                raise ConfigError(f"{where}: box has non-positive size {width}×{height}")
            boxes.append((float(left), float(top), float(left + width), float(top + height)))
        size = None
        if image_el.get("width") is not None and image_el.get("height") is not None:
            size = (_int_attr(image_el, "width", where), _int_attr(image_el, "height", where))
        items.append(AnnotatedImage(path.parent / file_name, tuple(boxes), ObjectClass.FACE, size_wh=size))
    return items


_DLIB_BOX_ATTRS = ("left", "top", "width", "height")


def _int_attr(element: ET.Element, name: str, where: str) -> int:
    raw = element.get(name)
    if raw is None:
        raise ConfigError(f"{where}: <{element.tag}> lacks the {name!r} attribute")
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{where}: <{element.tag}> {name}={raw!r} is not an integer") from None


def read_openalpr_dir(folder: Path) -> list[AnnotatedImage]:
    """Read every ``STEM.txt`` of an OpenALPR benchmark folder as plate boxes with their text.

    Each file holds one tab-separated line ``file x y w h text``; the box is ``[x, x+w) × [y, y+h)``.
    Files are returned in sorted order; image paths are resolved against ``folder``.

    Raises:
        ConfigError: the folder holds no ``.txt`` file, or a file is malformed.
    """
    if not folder.is_dir():
        raise ConfigError(f"plate annotations folder {folder} does not exist")
    items: list[AnnotatedImage] = []
    for txt in sorted(folder.glob("*.txt")):
        items.append(_read_openalpr_file(txt))
    if not items:
        raise ConfigError(f"{folder} holds no OpenALPR .txt annotation files")
    return items


def _read_openalpr_file(path: Path) -> AnnotatedImage:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read plate annotation {path}: {exc}") from exc
    if not lines:
        raise ConfigError(f"{path} is empty; expected 'file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>text'")
    boxes: list[BoxXYXY] = []
    texts: list[str | None] = []
    image_name: str | None = None
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != _OPENALPR_FIELDS:
            raise ConfigError(
                f"{path} line {number}: expected {_OPENALPR_FIELDS} tab-separated fields "
                f"(file, x, y, w, h, text), got {len(fields)}"
            )
        name, *numbers, text = fields
        if image_name is not None and name != image_name:
            raise ConfigError(f"{path} line {number}: names image {name!r}, earlier lines {image_name!r}")
        image_name = name
        try:
            x, y, w, h = (int(v) for v in numbers)
        except ValueError:
            raise ConfigError(f"{path} line {number}: x, y, w, h must be integers, got {numbers}") from None
        if w <= 0 or h <= 0:
            raise ConfigError(f"{path} line {number}: box has non-positive size {w}×{h}")
        boxes.append((float(x), float(y), float(x + w), float(y + h)))
        texts.append(text.strip() or None)
    assert image_name is not None
    return AnnotatedImage(path.parent / image_name, tuple(boxes), ObjectClass.LICENSE_PLATE, tuple(texts))
