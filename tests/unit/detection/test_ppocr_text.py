from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from veil.detection.ppocr_text import TextDetector, db_regions, network_size
from veil.errors import ConfigError
from veil.pipeline.config import DetectionConfig
from veil.types import ObjectClass


def _inside(polygon: np.ndarray, x: float, y: float) -> bool:
    return cv2.pointPolygonTest(polygon.reshape(-1, 1, 2).astype(np.float32), (x, y), False) >= 0


def test_a_text_kernel_becomes_an_expanded_quad_in_image_pixels() -> None:
    prob = np.zeros((64, 128), np.float32)
    prob[20:30, 40:100] = 0.9  # the shrunk kernel of a 60×10 text line
    out = db_regions(prob, image_wh=(256, 128))  # the image is twice the map's size
    assert len(out) == 1
    assert out.labels[0] is ObjectClass.TEXT
    assert out.scores[0] == pytest.approx(0.9, abs=1e-3)
    polygon = out.polygon(0)
    assert polygon is not None and polygon.shape == (4, 2)
    # Kernel corners (in image pixels) are inside, and the unclip grew it by several pixels on every side.
    for x, y in [(80, 40), (198, 40), (198, 58), (80, 58), (72, 34), (206, 64)]:
        assert _inside(polygon, x, y), (x, y)
    assert not _inside(polygon, 40, 49)
    np.testing.assert_allclose(out.boxes_xyxy[0], [*polygon.min(axis=0), *polygon.max(axis=0)])


def test_weak_regions_are_dropped() -> None:
    prob = np.zeros((64, 64), np.float32)
    prob[10:20, 10:40] = 0.45  # above the binarisation threshold, below min_score
    assert len(db_regions(prob, image_wh=(64, 64), min_score=0.6)) == 0
    assert len(db_regions(prob, image_wh=(64, 64), min_score=0.4)) == 1


def test_label_is_configurable_and_separate_lines_stay_separate() -> None:
    prob = np.zeros((64, 64), np.float32)
    prob[10:16, 5:60] = 1.0
    prob[40:46, 5:60] = 1.0
    out = db_regions(prob, image_wh=(64, 64), label=ObjectClass.LICENSE_PLATE)
    assert len(out) == 2
    assert all(label is ObjectClass.LICENSE_PLATE for label in out.labels)


def test_regions_are_clipped_to_the_image() -> None:
    prob = np.zeros((32, 32), np.float32)
    prob[0:6, 0:32] = 1.0
    out = db_regions(prob, image_wh=(32, 32))
    polygon = out.polygon(0)
    assert polygon is not None
    assert polygon.min() >= 0 and polygon.max() <= 32


def test_an_empty_map_gives_nothing() -> None:
    assert len(db_regions(np.zeros((32, 32), np.float32), image_wh=(32, 32))) == 0


@pytest.mark.parametrize(
    ("size", "max_side", "min_side", "expected"),
    [
        ((1280, 720), 960, 0, (960, 544)),
        ((720, 1280), 640, 0, (352, 640)),
        ((450, 322), 960, 0, (448, 320)),  # small images keep their size, rounded to multiples of 32
        ((100, 60), 960, 320, (320, 192)),  # ... unless asked to enlarge them
        ((2000, 10), 960, 0, (960, 32)),  # never below one stride
    ],
)
def test_network_size(size: tuple[int, int], max_side: int, min_side: int, expected: tuple[int, int]) -> None:
    assert network_size(*size, max_long_side_px=max_side, min_long_side_px=min_side) == expected


@pytest.mark.parametrize(
    "options",
    [{"min_score": 1.5}, {"max_long_side_px": 16}, {"max_long_side_px": 320, "min_long_side_px": 640}],
)
def test_bad_settings_are_refused_before_loading(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        TextDetector(Path("missing.onnx"), DetectionConfig(), **options)  # type: ignore[arg-type]
