from __future__ import annotations

import numpy as np
import pytest

from veil.detection.remap import box_masks, remap_detections
from veil.detections import Detections
from veil.types import ObjectClass


def _one_box(masks: np.ndarray | None = None) -> Detections:
    polygon = np.array([[2, 2], [6, 2], [6, 4], [2, 4]], np.float32)
    return Detections.create([[2, 2, 6, 4]], [0.9], ObjectClass.TEXT, polygons=[polygon], masks=masks)


def test_scale_and_offset_move_boxes_and_polygons() -> None:
    out = remap_detections(_one_box(), scale_xy=(2.0, 3.0), offset_xy=(10.0, 20.0), frame_hw=(100, 100))
    np.testing.assert_allclose(out.boxes_xyxy, [[14, 26, 22, 32]])
    polygon = out.polygon(0)
    assert polygon is not None
    np.testing.assert_allclose(polygon, [[14, 26], [22, 26], [22, 32], [14, 32]])
    assert out.labels[0] is ObjectClass.TEXT
    assert out.scores[0] == pytest.approx(0.9)


def test_boxes_are_clipped_to_the_frame() -> None:
    out = remap_detections(_one_box(), scale_xy=(1.0, 1.0), offset_xy=(-4.0, 95.0), frame_hw=(100, 100))
    np.testing.assert_allclose(out.boxes_xyxy, [[0, 97, 2, 99]])


def test_masks_are_pasted_at_the_offset() -> None:
    mask = np.zeros((1, 8, 10), bool)
    mask[0, 2:4, 2:6] = True
    out = remap_detections(_one_box(mask), scale_xy=(1.0, 1.0), offset_xy=(5.0, 7.0), frame_hw=(30, 40))
    assert out.masks is not None
    assert out.masks.shape == (1, 30, 40)
    expected = np.zeros((30, 40), bool)
    expected[9:11, 7:11] = True
    np.testing.assert_array_equal(out.masks[0], expected)


def test_upscaled_masks_cover_every_scaled_pixel() -> None:
    mask = np.zeros((1, 8, 10), bool)
    mask[0, 2:4, 2:6] = True
    out = remap_detections(_one_box(mask), scale_xy=(4.0, 4.0), offset_xy=(0.0, 0.0), frame_hw=(32, 40))
    assert out.masks is not None
    assert out.masks[0, 8:16, 8:24].all()  # never shrinks
    assert not out.masks[0, :4].any()  # and stays local


def test_masks_reaching_past_the_frame_are_cut() -> None:
    mask = np.ones((1, 8, 10), bool)
    out = remap_detections(_one_box(mask), scale_xy=(1.0, 1.0), offset_xy=(35.0, -3.0), frame_hw=(30, 40))
    assert out.masks is not None
    assert out.masks[0].sum() == 5 * 5


def test_empty_detections_pass_through() -> None:
    empty = Detections.empty()
    assert len(remap_detections(empty, scale_xy=(2.0, 2.0), offset_xy=(1.0, 1.0), frame_hw=(5, 5))) == 0


@pytest.mark.parametrize(
    ("box", "expected_sum"),
    [
        ([0, 0, 4, 3], 12),
        ([1.5, 1.5, 2.5, 2.5], 4),  # rounded outward
        ([-5, -5, 100, 100], 100),  # clipped to the 10×10 frame
        ([3, 3, 3, 3], 0),
    ],
)
def test_box_masks(box: list[float], expected_sum: int) -> None:
    masks = box_masks(np.array([box], np.float32), (10, 10))
    assert masks.shape == (1, 10, 10)
    assert int(masks.sum()) == expected_sum
