"""Read MOTChallenge ground truth (``gt/gt.txt`` beside ``img1/``) into per-frame annotated images."""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from veil.errors import ConfigError
from veil.evaluation.datasets import AnnotatedImage, BoxXYXY
from veil.types import ObjectClass

__all__ = ["MOT_CLASSES", "read_mot_gt"]

MOT_CLASSES: Mapping[int, ObjectClass] = MappingProxyType(
    {
        -1: ObjectClass.PERSON,  # MOT15 and detection files: no class column, all pedestrians
        1: ObjectClass.PERSON,  # pedestrian
        2: ObjectClass.PERSON,  # person on vehicle
        7: ObjectClass.PERSON,  # static person
        3: ObjectClass.VEHICLE,  # car
        4: ObjectClass.VEHICLE,  # bicycle
        5: ObjectClass.VEHICLE,  # motorbike
    }
)
"""MOT16/17/20 class id → Veil class; distractors, occluders and reflections are left out."""

_MIN_FIELDS = 6


def read_mot_gt(path: Path) -> list[AnnotatedImage]:
    """Read a MOTChallenge ``gt.txt``: one record per frame and class, images from the sequence's folder.

    Lines are ``frame, id, left, top, width, height, conf, class, visibility``; rows with ``conf`` 0
    (not to be evaluated) are skipped. The image folder and extension come from ``seqinfo.ini`` one
    level up when present, else ``img1`` and ``.jpg``; frame ``n`` is ``{n:06d}`` there.

    Raises:
        ConfigError: the file cannot be read or a line is malformed.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read MOT ground truth {path}: {exc}") from exc
    sequence = path.parent.parent
    image_dir, ext, size = _seqinfo(sequence)
    grouped: dict[tuple[int, ObjectClass], list[BoxXYXY]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < _MIN_FIELDS:
            raise ConfigError(f"{path} line {number}: expected at least {_MIN_FIELDS} comma-separated fields")
        try:
            frame = int(float(fields[0]))
            left, top, width, height = (float(v) for v in fields[2:6])
            conf = float(fields[6]) if len(fields) > 6 else 1.0
            cls = int(float(fields[7])) if len(fields) > 7 else -1
        except ValueError:
            raise ConfigError(f"{path} line {number}: {line!r} holds a non-number") from None
        label = MOT_CLASSES.get(cls)
        if conf == 0 or label is None or width <= 0 or height <= 0:
            continue
        grouped.setdefault((frame, label), []).append((left, top, left + width, top + height))
    folder = sequence / image_dir
    return [
        AnnotatedImage(folder / f"{frame:06d}{ext}", tuple(boxes), label, size_wh=size)
        for (frame, label), boxes in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
    ]


def _seqinfo(sequence: Path) -> tuple[str, str, tuple[int, int] | None]:
    info = sequence / "seqinfo.ini"
    if not info.is_file():
        return "img1", ".jpg", None
    parser = configparser.ConfigParser()
    try:
        parser.read(info, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{info} is not a valid seqinfo.ini: {exc}") from exc
    section: Mapping[str, str] = parser["Sequence"] if parser.has_section("Sequence") else {}
    size = None
    if "imwidth" in section and "imheight" in section:
        try:
            size = (int(section["imwidth"]), int(section["imheight"]))
        except ValueError:
            raise ConfigError(f"{info}: imWidth / imHeight are not integers") from None
    return section.get("imdir", "img1"), section.get("imext", ".jpg"), size
