"""Solid fill paints exactly the region's shape in one colour."""

from __future__ import annotations

import numpy as np
import pytest
from anonymizer_cases import REGION_NAMES, region_cases, textured_image

from veil.anonymizers.solid_mask import SolidMask
from veil.detections import Detections
from veil.errors import ConfigError
from veil.regions import union_mask
from veil.types import Image


@pytest.fixture
def textured() -> Image:
    return textured_image()


@pytest.fixture(params=REGION_NAMES)
def regions(request: pytest.FixtureRequest) -> Detections:
    return region_cases()[request.param]


@pytest.mark.parametrize("color", [(0, 0, 0), (12, 200, 255)])
def test_fills_the_region_shape_with_the_colour(
    textured: Image, regions: Detections, color: tuple[int, int, int]
) -> None:
    result = SolidMask(color).apply(textured, regions)
    inside = union_mask(regions, textured.shape[:2])
    assert (result[inside] == color).all()
    np.testing.assert_array_equal(result[~inside], textured[~inside])


@pytest.mark.parametrize("color", [(0, 0, 256), (-1, 0, 0), (0, 0)])
def test_bad_colours_are_refused(color: tuple[int, int, int]) -> None:
    with pytest.raises(ConfigError, match="color_rgb"):
        SolidMask(color)
