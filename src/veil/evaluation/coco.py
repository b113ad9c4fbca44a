"""Read COCO detection JSON (``images``, ``annotations``, ``categories``) into per-class annotated images."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from veil.errors import ConfigError
from veil.evaluation.datasets import AnnotatedImage, BoxXYXY
from veil.types import ObjectClass

__all__ = ["COCO_NAMES", "read_coco_json"]

COCO_NAMES: Mapping[str, ObjectClass] = MappingProxyType(
    {
        "person": ObjectClass.PERSON,
        "pedestrian": ObjectClass.PERSON,
        "face": ObjectClass.FACE,
        "bicycle": ObjectClass.VEHICLE,
        "car": ObjectClass.VEHICLE,
        "motorcycle": ObjectClass.VEHICLE,
        "bus": ObjectClass.VEHICLE,
        "truck": ObjectClass.VEHICLE,
        "vehicle": ObjectClass.VEHICLE,
        "license_plate": ObjectClass.LICENSE_PLATE,
        "licence_plate": ObjectClass.LICENSE_PLATE,
        "license plate": ObjectClass.LICENSE_PLATE,
        "plate": ObjectClass.LICENSE_PLATE,
        "text": ObjectClass.TEXT,
    }
)
"""Category name (lower case) → Veil class; categories not listed (chairs, dogs, …) are ignored."""


def read_coco_json(path: Path, image_root: Path | None = None) -> list[AnnotatedImage]:
    """Read a COCO JSON file: one record per image and Veil class present, boxes ``[x, y, w, h]`` → xyxy.

    Crowd regions (``iscrowd: 1``) are left out, as COCO's own evaluation ignores them. Images are
    resolved against ``image_root`` (default: the JSON's folder). An ``attributes.text`` or ``text``
    field on an annotation is kept as the plate's text.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or lacks a needed field.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read annotations {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        raise ConfigError(f"{path} is not COCO detection JSON: expected images, annotations and categories")
    root = image_root or path.parent
    classes = {
        _int(c, "id", path): COCO_NAMES.get(str(c.get("name", "")).lower()) for c in data["categories"]
    }
    images = {_int(i, "id", path): i for i in data["images"]}
    grouped: dict[tuple[int, ObjectClass], tuple[list[BoxXYXY], list[str | None]]] = {}
    for ann in data["annotations"]:
        label = classes.get(_int(ann, "category_id", path))
        if label is None or ann.get("iscrowd", 0):
            continue
        image_id = _int(ann, "image_id", path)
        if image_id not in images:
            raise ConfigError(
                f"{path}: annotation {ann.get('id')} names image {image_id}, which is not listed"
            )
        box = _box(ann, path)
        boxes, texts = grouped.setdefault((image_id, label), ([], []))
        boxes.append(box)
        attributes = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
        text = ann.get("text", attributes.get("text"))
        texts.append(str(text) if text else None)
    items = []
    for (image_id, label), (boxes, texts) in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], kv[0][1].value)
    ):
        image = images[image_id]
        file_name = image.get("file_name")
        if not file_name:
            raise ConfigError(f"{path}: image {image_id} has no file_name")
        size = None
        if "width" in image and "height" in image:
            size = (_int(image, "width", path), _int(image, "height", path))
        items.append(AnnotatedImage(root / str(file_name), tuple(boxes), label, tuple(texts), size))
    return items


def _int(record: Any, key: str, path: Path) -> int:
    if not isinstance(record, dict) or key not in record:
        raise ConfigError(f"{path}: a record lacks {key!r}")
    try:
        return int(record[key])
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: {key}={record[key]!r} is not an integer") from None


def _box(ann: dict[str, Any], path: Path) -> BoxXYXY:
    raw = ann.get("bbox")
    if not isinstance(raw, list) or len(raw) != 4:
        raise ConfigError(f"{path}: annotation {ann.get('id')} has no [x, y, w, h] bbox")
    try:
        x, y, w, h = (float(v) for v in raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: annotation {ann.get('id')} bbox {raw!r} is not numeric") from None
    if w <= 0 or h <= 0:
        raise ConfigError(f"{path}: annotation {ann.get('id')} has a non-positive size {w}×{h}")
    return (x, y, x + w, y + h)
