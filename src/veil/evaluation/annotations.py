"""Recognize an annotated data set's format from its path and read it; group its records by image."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from veil.errors import ConfigError
from veil.evaluation.coco import read_coco_json
from veil.evaluation.datasets import AnnotatedImage, read_dlib_xml, read_openalpr_dir
from veil.evaluation.mot import read_mot_gt
from veil.types import ObjectClass

__all__ = ["AnnotatedFrame", "DatasetFormat", "detect_format", "group_by_image", "load_annotations"]


class DatasetFormat(enum.Enum):
    """An annotation format Veil reads; the value is its name on the command line."""

    DLIB = "dlib"  # imglab XML, face boxes
    OPENALPR = "openalpr"  # a folder of STEM.txt plate lines
    COCO = "coco"  # COCO detection JSON
    MOT = "mot"  # MOTChallenge gt/gt.txt


def _mot(path: Path) -> list[AnnotatedImage]:
    return read_mot_gt(_mot_file(path))


def _mot_file(path: Path) -> Path:
    return path / "gt" / "gt.txt" if path.is_dir() else path


_READERS: Mapping[DatasetFormat, Callable[[Path], list[AnnotatedImage]]] = MappingProxyType(
    {
        DatasetFormat.DLIB: read_dlib_xml,
        DatasetFormat.OPENALPR: read_openalpr_dir,
        DatasetFormat.COCO: read_coco_json,
        DatasetFormat.MOT: _mot,
    }
)


def detect_format(path: Path) -> DatasetFormat:
    """Return the format of the annotations at ``path`` (a file, or a folder holding one).

    ``.xml`` is dlib, ``.json`` COCO, ``gt.txt`` (or a sequence folder with ``gt/gt.txt``) MOT, a
    folder of ``.txt`` files OpenALPR; a folder with a single ``.xml`` or ``.json`` file is that file.

    Raises:
        ConfigError: nothing recognizable is there.
    """
    if path.is_file():
        if path.suffix.lower() == ".xml":
            return DatasetFormat.DLIB
        if path.suffix.lower() == ".json":
            return DatasetFormat.COCO
        if path.name == "gt.txt":
            return DatasetFormat.MOT
    elif path.is_dir():
        if (path / "gt" / "gt.txt").is_file():
            return DatasetFormat.MOT
        for suffix, fmt in ((".xml", DatasetFormat.DLIB), (".json", DatasetFormat.COCO)):
            if len(list(path.glob(f"*{suffix}"))) == 1:
                return fmt
        if any(path.glob("*.txt")):
            return DatasetFormat.OPENALPR
    else:
        raise ConfigError(f"annotations {path} do not exist")
    valid = ", ".join(f.value for f in DatasetFormat)
    raise ConfigError(f"cannot tell the annotation format of {path}; name it (one of {valid})")


def load_annotations(path: Path, fmt: DatasetFormat | None = None) -> list[AnnotatedImage]:
    """Read the annotations at ``path`` in format ``fmt`` (recognized from the path when ``None``)."""
    fmt = fmt or detect_format(path)
    if fmt in (DatasetFormat.DLIB, DatasetFormat.COCO) and path.is_dir():
        pattern = "*.xml" if fmt is DatasetFormat.DLIB else "*.json"
        files = sorted(path.glob(pattern))
        if len(files) != 1:
            raise ConfigError(f"{path} holds {len(files)} {pattern} files; name the annotation file itself")
        path = files[0]
    return _READERS[fmt](path)


@dataclass(frozen=True)
class AnnotatedFrame:
    """Every annotated record of one image (one per class)."""

    image_path: Path
    records: tuple[AnnotatedImage, ...]

    def of_class(self, label: ObjectClass) -> list[AnnotatedImage]:
        """Return the records of ``label``."""
        return [r for r in self.records if r.label is label]


def group_by_image(items: Sequence[AnnotatedImage]) -> list[AnnotatedFrame]:
    """Return the records grouped by image, in the order images first appear."""
    grouped: dict[Path, list[AnnotatedImage]] = {}
    for item in items:
        grouped.setdefault(item.image_path, []).append(item)
    if not grouped:
        raise ConfigError("the annotations list no image")
    return [AnnotatedFrame(path, tuple(records)) for path, records in grouped.items()]
