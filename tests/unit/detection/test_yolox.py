from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.detection.yolox import YoloxDetector, decode_yolox
from veil.errors import ConfigError, ModelError
from veil.pipeline.config import DetectionConfig
from veil.types import ObjectClass

ROWS = 52 * 52 + 26 * 26 + 13 * 13


def _row(
    rows: np.ndarray,
    index: int,
    *,
    dxy: tuple[float, float],
    wh: tuple[float, float],
    stride: int,
    obj: float,
    coco: int,
    cls: float,
) -> None:
    rows[index, 0:2] = dxy
    rows[index, 2:4] = np.log(np.array(wh) / stride)
    rows[index, 4] = obj
    rows[index, 5 + coco] = cls


def test_decodes_grid_cells_of_each_stride_and_undoes_the_letterbox() -> None:
    rows = np.zeros((ROWS, 85), np.float32)
    # Stride 8, cell (gx=10, gy=5): centre ((0.5+10)*8, (0.5+5)*8) = (84, 44) in the 416 input.
    _row(rows, 5 * 52 + 10, dxy=(0.5, 0.5), wh=(16, 32), stride=8, obj=0.9, coco=0, cls=0.9)
    # Stride 32, cell (gx=3, gy=2): centre (112, 80), a car.
    _row(
        rows, 52 * 52 + 26 * 26 + 2 * 13 + 3, dxy=(0.5, 0.5), wh=(64, 32), stride=32, obj=0.8, coco=2, cls=0.9
    )
    out = decode_yolox(rows, ratio=0.5, width=832, height=600, min_score=0.25)
    assert len(out) == 2
    person = out.of_class(ObjectClass.PERSON)
    np.testing.assert_allclose(person.boxes_xyxy[0], np.array([76, 28, 92, 60]) / 0.5, atol=1e-3)
    assert person.scores[0] == pytest.approx(0.81)
    car = out.of_class(ObjectClass.VEHICLE)
    np.testing.assert_allclose(car.boxes_xyxy[0], np.array([80, 64, 144, 96]) / 0.5, atol=1e-3)


def test_ignores_classes_veil_does_not_hide_and_low_scores() -> None:
    rows = np.zeros((ROWS, 85), np.float32)
    _row(rows, 0, dxy=(0, 0), wh=(8, 8), stride=8, obj=0.9, coco=16, cls=0.9)  # a dog
    _row(rows, 1, dxy=(0, 0), wh=(8, 8), stride=8, obj=0.4, coco=0, cls=0.5)  # person at 0.2
    assert len(decode_yolox(rows, ratio=1.0, width=416, height=416, min_score=0.25)) == 0


def test_truck_and_car_on_one_vehicle_give_one_region() -> None:
    rows = np.zeros((ROWS, 85), np.float32)
    _row(rows, 100, dxy=(0.5, 0.5), wh=(40, 40), stride=8, obj=0.9, coco=2, cls=0.8)
    _row(rows, 101, dxy=(0.0, 0.5), wh=(40, 40), stride=8, obj=0.9, coco=7, cls=0.5)
    out = decode_yolox(rows, ratio=1.0, width=416, height=416, min_score=0.25)
    assert len(out) == 1
    assert out.scores[0] == pytest.approx(0.72)


def test_boxes_are_clipped_to_the_image() -> None:
    rows = np.zeros((ROWS, 85), np.float32)
    _row(rows, 0, dxy=(0, 0), wh=(100, 100), stride=8, obj=0.9, coco=0, cls=0.9)
    out = decode_yolox(rows, ratio=1.0, width=416, height=416, min_score=0.25)
    np.testing.assert_allclose(out.boxes_xyxy[0], [0, 0, 50, 50])


def test_wrong_output_shape_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="3549"):
        decode_yolox(np.zeros((10, 85), np.float32), ratio=1.0, width=10, height=10, min_score=0.1)


def test_bad_min_score_is_refused_before_loading() -> None:
    with pytest.raises(ConfigError, match="min_score"):
        YoloxDetector(Path("missing.onnx"), DetectionConfig(), min_score=1.2)
