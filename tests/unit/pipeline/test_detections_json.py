from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import ConfigError
from veil.pipeline.detections_json import (
    FrameDetections,
    mask_from_rle,
    mask_to_rle,
    read_detections,
    write_detections,
)
from veil.types import ObjectClass, Origin


@pytest.mark.parametrize(
    "pattern",
    [
        np.zeros((3, 4), bool),
        np.ones((3, 4), bool),
        np.array([[1, 0, 0], [0, 1, 1]], bool),
        np.array([[0, 0], [0, 1]], bool),
    ],
)
def test_rle_round_trip(pattern: np.ndarray) -> None:
    rle = mask_to_rle(pattern)
    assert sum(rle["counts"]) == pattern.size
    np.testing.assert_array_equal(mask_from_rle(rle), pattern)


def test_rle_matches_coco_convention() -> None:
    # COCO: column-major, first count is background. Column 0 = [1, 0], column 1 = [0, 1].
    mask = np.array([[1, 0], [0, 1]], bool)
    assert mask_to_rle(mask)["counts"] == [0, 1, 2, 1]


def test_rle_with_wrong_total_is_refused() -> None:
    with pytest.raises(ConfigError, match="pixels"):
        mask_from_rle({"size": [2, 2], "counts": [1, 1]})


def test_write_then_read_keeps_every_field(tmp_path: Path) -> None:
    mask = np.zeros((1, 6, 8), bool)
    mask[0, 1:3, 2:5] = True
    person = Detections.create([[2, 1, 5, 3]], [0.7], ObjectClass.PERSON, masks=mask, track_ids=[3])
    plate = Detections.create(
        [[1, 1, 4, 2]],
        [0.9],
        ObjectClass.LICENSE_PLATE,
        polygons=[np.array([[1, 1], [4, 1], [4, 2], [1, 2]])],
    )
    frames = [
        FrameDetections(0, 0, 0.0, Detections.concat([person, plate], frame_shape=(6, 8))),
        FrameDetections(1, 512, 0.04, Detections.empty()),
    ]
    path = tmp_path / "clip.detections.json"
    write_detections(path, "clip.mp4", 8, 6, frames)
    back = read_detections(path)
    assert (back.width, back.height, back.source) == (8, 6, "clip.mp4")
    first = back.by_index()[0]
    assert list(first.labels) == [ObjectClass.PERSON, ObjectClass.LICENSE_PLATE]
    assert first.masks is not None
    np.testing.assert_array_equal(first.masks[0], mask[0])
    assert first.track_ids is not None and first.track_ids.tolist() == [3, -1]
    poly = first.polygon(1)
    assert poly is not None and poly.tolist() == [[1, 1], [4, 1], [4, 2], [1, 2]]
    assert list(first.origins) == [Origin.DETECTED, Origin.DETECTED]
    assert len(back.by_index()[1]) == 0
    assert not list(tmp_path.glob("*.partial"))


def test_region_without_origin_counts_as_reviewed(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    body = {
        "format": "veil-detections/1",
        "width": 10,
        "height": 10,
        "frames": [{"index": 0, "regions": [{"class": "face", "box": [1, 1, 5, 5]}]}],
    }
    path.write_text(json.dumps(body))
    det = read_detections(path).by_index()[0]
    assert det.origins[0] is Origin.REVIEWED
    assert det.scores[0] == 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"format": "other"}', "not a Veil detections file"),
        ('{"format": "veil-detections/1", "width": 4}', "malformed"),
        (
            '{"format": "veil-detections/1", "width": 4, "height": 4, '
            '"frames": [{"index": 0, "regions": [{"class": "dog", "box": [0, 0, 1, 1]}]}]}',
            "unknown class",
        ),
        (
            '{"format": "veil-detections/1", "width": 4, "height": 4, '
            '"frames": [{"index": 0, "regions": [{"class": "face", "box": [0, 0, 1]}]}]}',
            "4 numbers",
        ),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_detections(path)
