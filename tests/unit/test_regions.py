"""Each region is drawn in its own shape, inside its bounding crop, clipped to the frame."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detections import Detections
from veil.errors import PrivacyError
from veil.regions import RegionShape, region_crop, shape_of, union_mask
from veil.types import ObjectClass

FRAME_HW = (60, 80)


def _one(
    box: list[float],
    label: ObjectClass = ObjectClass.LICENSE_PLATE,
    *,
    mask: np.ndarray | None = None,
    polygon: list[list[float]] | None = None,
) -> Detections:
    return Detections.create(
        [box],
        [0.9],
        label,
        masks=None if mask is None else mask[None],
        polygons=None if polygon is None else [np.asarray(polygon, np.float32)],
    )


def _mask_with(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros(FRAME_HW, bool)
    mask[y0:y1, x0:x1] = True
    return mask


TRIANGLE = [[10.0, 10.0], [50.0, 10.0], [10.0, 50.0]]


@pytest.mark.parametrize(
    ("detections", "expected"),
    [
        (_one([0, 0, 10, 10], mask=_mask_with(1, 3, 1, 3)), RegionShape.MASK),
        (_one([0, 0, 10, 10], ObjectClass.FACE, mask=_mask_with(1, 3, 1, 3)), RegionShape.MASK),
        (_one([0, 0, 10, 10], mask=np.zeros(FRAME_HW, bool), polygon=TRIANGLE), RegionShape.POLYGON),
        (_one([0, 0, 10, 10], ObjectClass.FACE, polygon=TRIANGLE), RegionShape.POLYGON),
        (_one([0, 0, 10, 10], polygon=[[0.0, 0.0], [5.0, 5.0]]), RegionShape.BOX),
        (_one([0, 0, 10, 10], ObjectClass.FACE, mask=np.zeros(FRAME_HW, bool)), RegionShape.ELLIPSE),
        (_one([0, 0, 10, 10], ObjectClass.FACE), RegionShape.ELLIPSE),
        (_one([0, 0, 10, 10], ObjectClass.PERSON), RegionShape.BOX),
        (_one([0, 0, 10, 10], ObjectClass.TEXT), RegionShape.BOX),
    ],
    ids=[
        "mask",
        "face-mask",
        "empty-mask-polygon",
        "face-polygon",
        "two-point-polygon-box",
        "face-empty-mask",
        "face",
        "person",
        "text",
    ],
)
def test_shape_of(detections: Detections, expected: RegionShape) -> None:
    assert shape_of(detections, 0) is expected


def test_empty_detections_cover_nothing() -> None:
    assert not union_mask(Detections.empty(), FRAME_HW).any()
    assert union_mask(Detections.empty(), FRAME_HW).shape == FRAME_HW


@pytest.mark.parametrize(
    ("box", "bounds"),
    [
        ([10, 20, 30, 40], (20, 40, 10, 30)),
        ([10.5, 20.2, 29.5, 39.9], (20, 40, 10, 30)),  # partly covered pixels count
        ([-5, -7, 10, 10], (0, 10, 0, 10)),  # top-left corner outside
        ([70, 50, 95, 70], (50, 60, 70, 80)),  # bottom-right corner outside
        ([70, 0, 80, 60], (0, 60, 70, 80)),  # flush with the right edge
        ([-100, -100, 200, 200], (0, 60, 0, 80)),  # larger than the frame
        ([79.5, 59.5, 80, 60], (59, 60, 79, 80)),  # a sliver of the last pixel
    ],
    ids=["inside", "fractional", "top-left-out", "bottom-right-out", "right-edge", "whole-frame", "sliver"],
)
def test_box_crop_bounds(box: list[float], bounds: tuple[int, int, int, int]) -> None:
    crop = region_crop(_one(box), 0, FRAME_HW)
    assert crop is not None
    assert (crop.y0, crop.y1, crop.x0, crop.x1) == bounds
    assert crop.mask.shape == (bounds[1] - bounds[0], bounds[3] - bounds[2])
    assert crop.mask.all()
    assert crop.is_full


@pytest.mark.parametrize("label", [ObjectClass.LICENSE_PLATE, ObjectClass.FACE])
@pytest.mark.parametrize(
    "box",
    [
        [10, 10, 10, 20],  # zero width
        [10, 10, 20, 10],  # zero height
        [20, 20, 10, 10],  # inverted
        [100, 0, 110, 10],  # right of the frame
        [0, -40, 10, -20],  # above the frame
        [-30, -30, -1, -1],  # beyond the top-left corner
    ],
    ids=["zero-w", "zero-h", "inverted", "right", "above", "outside"],
)
def test_regions_without_pixels_are_none(box: list[float], label: ObjectClass) -> None:
    detections = _one(box, label)
    assert region_crop(detections, 0, FRAME_HW) is None
    assert not union_mask(detections, FRAME_HW).any()


@pytest.mark.parametrize(
    "box",
    [[30, 20, 50, 40], [30.3, 20.7, 49.2, 39.6], [-8, -8, 12, 12], [65, 45, 85, 65], [0, 0, 80, 60]],
    ids=["inside", "fractional", "top-left", "bottom-right", "whole-frame"],
)
def test_face_ellipse_covers_its_whole_box(box: list[float]) -> None:
    detections = _one(box, ObjectClass.FACE)
    covered = union_mask(detections, FRAME_HW)
    box_pixels = union_mask(_one(box), FRAME_HW)
    assert covered[box_pixels].all()


def test_face_ellipse_reaches_beyond_the_box_but_not_its_crop_corners() -> None:
    crop = region_crop(_one([30, 20, 50, 40], ObjectClass.FACE), 0, FRAME_HW)
    assert crop is not None
    half_axis = 10 * math.sqrt(2)
    assert (crop.x0, crop.x1) == (math.floor(40 - half_axis), math.ceil(40 + half_axis))
    assert (crop.y0, crop.y1) == (math.floor(30 - half_axis), math.ceil(30 + half_axis))
    assert not crop.mask[0, 0] and not crop.mask[-1, -1] and not crop.is_full
    # The ellipse through the box corners has area π·(w/2·√2)·(h/2·√2) = 2π·(w/2)·(h/2).
    assert crop.mask.sum() == pytest.approx(2 * math.pi * 10 * 10, rel=0.05)


@pytest.mark.parametrize(
    ("box", "edge_pixel"),
    [([80, 20, 90, 30], (25, 79)), ([20, -10, 30, 0], (0, 25))],
    ids=["right", "above"],
)
def test_face_box_just_outside_still_covers_its_ellipse(
    box: list[float], edge_pixel: tuple[int, int]
) -> None:
    assert region_crop(_one(box), 0, FRAME_HW) is None
    assert union_mask(_one(box, ObjectClass.FACE), FRAME_HW)[edge_pixel]


def test_face_ellipse_partly_outside_is_clipped() -> None:
    crop = region_crop(_one([-10, 50, 10, 70], ObjectClass.FACE), 0, FRAME_HW)
    assert crop is not None
    assert (crop.x0, crop.y1) == (0, 60)
    assert crop.mask.shape == (crop.y1 - crop.y0, crop.x1 - crop.x0)
    assert crop.mask[-1, 0]  # the frame corner is the face's centre


@pytest.mark.parametrize("offset", [(0.0, 0.0), (-30.0, 0.0), (0.0, 25.0), (60.0, 40.0)])
def test_polygon_is_filled_in_its_shape(offset: tuple[float, float]) -> None:
    polygon = np.asarray(TRIANGLE) + offset
    detections = _one([0, 0, 1, 1], polygon=polygon.tolist())
    covered = union_mask(detections, FRAME_HW)
    ys, xs = np.mgrid[0 : FRAME_HW[0], 0 : FRAME_HW[1]] + 0.5
    u, v = xs - 10 - offset[0], ys - 10 - offset[1]
    clearly_inside = (u > 1) & (v > 1) & (u + v < 39)
    clearly_outside = (u < -1) | (v < -1) | (u + v > 41)
    assert covered[clearly_inside].all()
    assert not covered[clearly_outside].any()
    crop = region_crop(detections, 0, FRAME_HW)
    assert crop is not None
    assert 0 <= crop.x0 < crop.x1 <= FRAME_HW[1] and 0 <= crop.y0 < crop.y1 <= FRAME_HW[0]


def test_polygon_outside_the_frame_is_none() -> None:
    polygon = (np.asarray(TRIANGLE) + np.array([200.0, 0.0])).tolist()
    assert region_crop(_one([0, 0, 10, 10], polygon=polygon), 0, FRAME_HW) is None


def test_polygon_edges_cover_partly_covered_pixels() -> None:
    square = [[10.3, 10.3], [19.7, 10.3], [19.7, 19.7], [10.3, 19.7]]
    crop = region_crop(_one([0, 0, 1, 1], polygon=square), 0, FRAME_HW)
    assert crop is not None
    assert (crop.y0, crop.y1, crop.x0, crop.x1) == (10, 20, 10, 20)
    assert crop.mask.all()


def test_mask_crop_is_its_bounding_box() -> None:
    mask = np.zeros(FRAME_HW, bool)
    mask[5, 7] = mask[12, 30] = mask[8, 15] = True
    crop = region_crop(_one([0, 0, 80, 60], mask=mask), 0, FRAME_HW)
    assert crop is not None
    assert (crop.y0, crop.y1, crop.x0, crop.x1) == (5, 13, 7, 31)
    np.testing.assert_array_equal(crop.mask, mask[5:13, 7:31])
    np.testing.assert_array_equal(union_mask(_one([0, 0, 80, 60], mask=mask), FRAME_HW), mask)


def test_mask_of_another_frame_size_is_refused() -> None:
    detections = _one([0, 0, 5, 5], mask=np.ones((10, 10), bool))
    with pytest.raises(PrivacyError, match="10×10 mask for a 60×80 frame"):
        region_crop(detections, 0, FRAME_HW)


@pytest.mark.parametrize("label", [ObjectClass.FACE, ObjectClass.PERSON])
def test_non_finite_box_is_refused(label: ObjectClass) -> None:
    with pytest.raises(PrivacyError, match="non-finite"):
        region_crop(_one([0, 0, float("nan"), 5], label), 0, FRAME_HW)


def test_non_finite_polygon_is_refused() -> None:
    with pytest.raises(PrivacyError, match="non-finite"):
        region_crop(_one([0, 0, 5, 5], polygon=[[0, 0], [5, float("inf")], [0, 5]]), 0, FRAME_HW)


@pytest.mark.parametrize("frame_hw", [(0, 10), (10, 0), (-1, 5)])
def test_bad_frame_size_is_refused(frame_hw: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="frame_hw"):
        union_mask(Detections.empty(), frame_hw)


def test_union_is_the_or_of_every_region() -> None:
    mask = _mask_with(40, 50, 60, 75)
    detections = Detections.concat(
        [
            _one([5, 5, 25, 25], ObjectClass.FACE),
            _one([20, 20, 40, 30]),
            _one([0, 0, 1, 1], polygon=TRIANGLE),
            _one([60, 40, 75, 50], ObjectClass.PERSON, mask=mask),
        ],
        frame_shape=FRAME_HW,
    )
    expected = np.zeros(FRAME_HW, bool)
    for i in range(len(detections)):
        expected |= union_mask(detections[[i]], FRAME_HW)
    np.testing.assert_array_equal(union_mask(detections, FRAME_HW), expected)
    assert expected[45, 65] and expected[25, 30] and expected[15, 15]


_coord = st.floats(min_value=-200, max_value=300, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    x1=_coord,
    y1=_coord,
    x2=_coord,
    y2=_coord,
    label=st.sampled_from([ObjectClass.FACE, ObjectClass.PERSON]),
)
def test_any_crop_lies_in_the_frame_and_covers_something(
    x1: float, y1: float, x2: float, y2: float, label: ObjectClass
) -> None:
    crop = region_crop(_one([x1, y1, x2, y2], label), 0, FRAME_HW)
    box_pixels = union_mask(_one([x1, y1, x2, y2]), FRAME_HW)
    if crop is None:
        assert not box_pixels.any()
        return
    covered = np.zeros(FRAME_HW, bool)
    covered[crop.slices] = crop.mask
    assert covered[box_pixels].all()
    assert 0 <= crop.y0 < crop.y1 <= FRAME_HW[0]
    assert 0 <= crop.x0 < crop.x1 <= FRAME_HW[1]
    assert crop.mask.shape == (crop.y1 - crop.y0, crop.x1 - crop.x0)
    assert crop.mask.any()
