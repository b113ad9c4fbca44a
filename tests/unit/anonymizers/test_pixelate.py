"""Pixelation: block size follows the object, blocks are uniform, never a sliver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from anonymizer_cases import textured_image

from veil.anonymizers.pixelate import Pixelate, block_size_px
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image, ObjectClass


@pytest.fixture
def textured() -> Image:
    return textured_image()


@pytest.mark.parametrize(
    ("box_w", "box_h", "expected"),
    [(0, 0, 4), (16, 16, 4), (40, 40, 5), (64, 32, 6), (200, 200, 25), (800, 400, 75), (-3, 2, 4)],
)
def test_block_size_rule(box_w: float, box_h: float, expected: int) -> None:
    assert block_size_px(box_w, box_h) == expected


@pytest.mark.parametrize("kwargs", [{"block_ratio": 0.0}, {"block_ratio": 1.5}, {"min_block_px": 1}])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        Pixelate(**kwargs)  # type: ignore[arg-type]


def test_box_becomes_uniform_blocks_with_the_remainder_in_the_last_one(textured: Image) -> None:
    # 42×40 box: block 5 px → 8 blocks across (the last one 7 px wide) and 8 down.
    detections = Detections.create([[10, 20, 52, 60]], [0.9], ObjectClass.LICENSE_PLATE)
    result = Pixelate().apply(textured, detections)
    region = result[20:60, 10:52]
    col_edges = [0, 5, 10, 15, 20, 25, 30, 35, 42]
    row_edges = [0, 5, 10, 15, 20, 25, 30, 35, 40]
    for r0, r1 in itertools.pairwise(row_edges):
        for c0, c1 in itertools.pairwise(col_edges):
            block = region[r0:r1, c0:c1].reshape(-1, 3)
            assert (block == block[0]).all()
            expected = textured[20 + r0 : 20 + r1, 10 + c0 : 10 + c1].reshape(-1, 3).mean(axis=0)
            np.testing.assert_allclose(block[0], expected, atol=0.5)


def test_region_smaller_than_a_block_averages_with_its_neighbours(textured: Image) -> None:
    detections = Detections.create([[30, 30, 31, 31]], [0.9], ObjectClass.LICENSE_PLATE)
    result = Pixelate().apply(textured, detections)
    expected = textured[29:33, 29:33].reshape(-1, 3).mean(axis=0)  # widened about its centre
    np.testing.assert_allclose(result[30, 30], expected, atol=0.5)
    assert (result[30, 30] != textured[30, 30]).any()


def test_region_in_the_frame_corner_smaller_than_a_block(textured: Image) -> None:
    detections = Detections.create([[-5, -5, 1, 1]], [0.9], ObjectClass.LICENSE_PLATE)
    result = Pixelate().apply(textured, detections)
    np.testing.assert_allclose(result[0, 0], textured[0:4, 0:4].reshape(-1, 3).mean(axis=0), atol=0.5)
