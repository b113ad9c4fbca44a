"""Adaptive blur: radius follows object size, and only the object's own pixels feed its blur."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from veil.anonymizers.adaptive_blur import AdaptiveBlur, kernel_radius_px
from veil.detections import Detections
from veil.errors import ConfigError
from veil.regions import union_mask
from veil.types import Image, ObjectClass


@pytest.mark.parametrize(
    ("box_w", "box_h", "min_radius_px", "expected"),
    [
        (0, 0, 9, 9),  # floor
        (20, 20, 9, 9),  # 5 → floor
        (36, 36, 9, 9),  # 9, already odd
        (40, 40, 9, 11),  # 10 → next odd
        (44, 44, 9, 11),  # 11
        (48, 48, 9, 13),  # 12 → 13
        (100, 60, 9, 21),  # mean side 80 → 20 → 21
        (200, 200, 9, 51),  # 50 → 51
        (600, 200, 9, 101),  # mean side 400 → 100 → 101
        (16, 16, 3, 5),  # 4 → 5 above a lower floor
        (8, 8, 3, 3),  # 2 → 3
        (-5, -5, 9, 9),  # inverted boxes get the floor
    ],
)
def test_radius_rule(box_w: float, box_h: float, min_radius_px: int, expected: int) -> None:
    radius = kernel_radius_px(box_w, box_h, min_radius_px=min_radius_px)
    assert radius == expected
    assert radius % 2 == 1


def test_radius_is_a_quarter_of_the_mean_side_for_any_size() -> None:
    for side in range(40, 400, 7):
        radius = AdaptiveBlur().radius_px(side, side + 10)
        assert radius % 2 == 1
        assert abs(radius - (side + 5) / 4) <= 1.5


@pytest.mark.parametrize(
    "kwargs",
    [{"radius_ratio": 0.0}, {"min_radius_px": 8}, {"min_radius_px": 0}, {"sigma_per_radius": -1.0}],
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        AdaptiveBlur(**kwargs)  # type: ignore[arg-type]


def _scene(size: int, shape: str) -> tuple[Image, Detections]:
    """Return a dark textured object of about ``size`` px on a bright background, and its region."""
    hw = (size * 3, size * 3)
    rng = np.random.default_rng(1)
    image = np.full((*hw, 3), 240, np.uint8)
    x0 = y0 = float(size)
    box = [x0, y0, x0 + size, y0 + size]
    if shape == "box":
        detections = Detections.create([box], [0.9], ObjectClass.LICENSE_PLATE)
    elif shape == "ellipse":
        detections = Detections.create([box], [0.9], ObjectClass.FACE)
    elif shape == "polygon":
        triangle = np.array([[x0, y0], [x0 + size, y0], [x0, y0 + size]], np.float32)
        detections = Detections.create([box], [0.9], ObjectClass.TEXT, polygons=[triangle])
    else:
        ys, xs = np.mgrid[0 : hw[0], 0 : hw[1]]
        centre = size * 1.5
        disc = (ys + 0.5 - centre) ** 2 + (xs + 0.5 - centre) ** 2 <= (size / 2) ** 2
        detections = Detections.create([box], [0.9], ObjectClass.PERSON, masks=disc[None])
    inside = union_mask(detections, hw)
    image[inside] = rng.integers(20, 61, (int(inside.sum()), 3), dtype=np.uint8)
    return image, detections


@pytest.mark.parametrize("shape", ["box", "ellipse", "polygon", "mask"])
@pytest.mark.parametrize("size", [24, 60, 200], ids=["floor", "direct", "downscaled"])
def test_background_does_not_bleed_into_the_object(shape: str, size: int) -> None:
    image, detections = _scene(size, shape)
    inside = union_mask(detections, image.shape[:2])
    object_mean = image[inside].astype(float).mean()
    result = AdaptiveBlur().apply(image, detections)
    blurred = result[inside].astype(float)
    assert abs(blurred.mean() - object_mean) < 2.0
    assert blurred.max() <= 61  # not one pixel picked up the bright background
    # A plain (box) blur of the same radius would have pulled the background in: the test can fail.
    side = 2 * AdaptiveBlur().radius_px(size, size) + 1
    plain = cv2.blur(image, (side, side))[inside].astype(float)
    assert plain.mean() > object_mean + 20


@pytest.mark.parametrize("size", [24, 60, 200])
def test_blur_removes_most_of_the_texture(size: int) -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (size * 2, size * 2, 3), dtype=np.uint8)
    detections = Detections.create([[size / 2, size / 2, size * 1.5, size * 1.5]], [0.9], ObjectClass.TEXT)
    inside = union_mask(detections, image.shape[:2])
    result = AdaptiveBlur().apply(image, detections)
    assert result[inside].std() < 0.1 * image[inside].std()


def test_bigger_objects_get_a_stronger_blur() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    boxes = Detections.create([[10, 10, 50, 50]], [0.9], ObjectClass.TEXT)
    # The same 40 px patch blurred as part of a 40 px and of a 280 px object.
    small = AdaptiveBlur().apply(image, boxes)[10:50, 10:50].astype(float)
    large = AdaptiveBlur().apply(image, boxes.with_boxes(np.array([[10, 10, 290, 290]], np.float32)))
    assert large[10:50, 10:50].astype(float).std() < 0.5 * small.std()


def test_regions_are_blurred_in_the_order_given_over_earlier_results() -> None:
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    both = Detections.create([[10, 10, 60, 60], [40, 40, 90, 90]], [0.9, 0.9], ObjectClass.TEXT)
    first_only = AdaptiveBlur().apply(image, both[[0]])
    expected = AdaptiveBlur().apply(first_only, both[[1]])
    np.testing.assert_array_equal(AdaptiveBlur().apply(image, both), expected)
