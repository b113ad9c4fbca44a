"""The policy keeps the target regions that pass their threshold and grows them by the right margin."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.pipeline.config import PrivacyPolicy
from veil.pipeline.policy import apply_policy
from veil.types import ObjectClass, Origin

FACE, PLATE, PERSON = ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.PERSON
FRAME_HW = (100, 120)
NO_MARGIN = PrivacyPolicy(margin_ratio=0.0, propagated_margin_ratio=0.0, min_margin_px=0.0)
RATIO_ONLY = PrivacyPolicy(min_margin_px=0.0)


@pytest.mark.parametrize(
    ("label", "score", "origin", "targets", "kept"),
    [
        (FACE, 0.9, Origin.DETECTED, {FACE}, True),
        (FACE, 0.35, Origin.DETECTED, {FACE}, True),  # the threshold itself passes
        (FACE, 0.34, Origin.DETECTED, {FACE}, False),
        (FACE, 0.0, Origin.PROPAGATED, {FACE}, True),
        (FACE, 0.0, Origin.REVIEWED, {FACE}, True),
        (PLATE, 0.45, Origin.DETECTED, {FACE, PLATE}, False),  # plates need 0.5
        (PLATE, 0.5, Origin.DETECTED, {FACE, PLATE}, True),
        (PERSON, 0.99, Origin.DETECTED, {FACE, PLATE}, False),  # not a target
        (PERSON, 0.99, Origin.PROPAGATED, {FACE}, False),
        (PERSON, 0.99, Origin.REVIEWED, {FACE}, False),
    ],
)
def test_selection(
    label: ObjectClass, score: float, origin: Origin, targets: set[ObjectClass], kept: bool
) -> None:
    detections = Detections.create([[10, 10, 30, 30]], [score], label, origin=origin)
    result = apply_policy(detections, NO_MARGIN, frozenset(targets), FRAME_HW)
    assert len(result) == int(kept)
    if kept:
        assert result.labels[0] is label and result.origins[0] is origin


def test_custom_threshold_applies() -> None:
    policy = PrivacyPolicy(score_thresholds={FACE: 0.8}, margin_ratio=0.0)
    detections = Detections.create([[0, 0, 5, 5], [0, 0, 6, 6]], [0.79, 0.8], FACE)
    result = apply_policy(detections, policy, frozenset({FACE}), FRAME_HW)
    np.testing.assert_array_equal(result.scores, np.array([0.8], np.float32))


def test_empty_detections_stay_empty() -> None:
    assert len(apply_policy(Detections.empty(), PrivacyPolicy(), frozenset({FACE}), FRAME_HW)) == 0


@pytest.mark.parametrize(
    ("box", "origin", "expected"),
    [
        ([10, 10, 30, 50], Origin.DETECTED, [7, 4, 33, 56]),  # 0.15 of 20×40
        ([10, 10, 30, 50], Origin.REVIEWED, [7, 4, 33, 56]),
        ([10, 10, 30, 50], Origin.PROPAGATED, [4, 0, 36, 62]),  # 0.3, clipped at the top
        ([100, 80, 120, 100], Origin.DETECTED, [97, 77, 120, 100]),  # clipped at the bottom-right
        ([-10, -10, 10, 10], Origin.DETECTED, [0, 0, 13, 13]),  # partly outside
        ([50, 50, 50, 60], Origin.DETECTED, [50, 48.5, 50, 61.5]),  # zero width stays zero
    ],
    ids=["detected", "reviewed", "propagated", "bottom-right", "outside", "zero-width"],
)
def test_boxes_grow_by_their_margin_and_are_clipped(
    box: list[float], origin: Origin, expected: list[float]
) -> None:
    detections = Detections.create([box], [0.9], FACE, origin=origin)
    result = apply_policy(detections, RATIO_ONLY, frozenset({FACE}), FRAME_HW)
    np.testing.assert_allclose(result.boxes_xyxy[0], expected, atol=1e-4)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([50, 50, 56, 58], [46, 46, 60, 62]),  # 0.15 of 6×8 is under a pixel: 4 px each side
        ([50, 50, 90, 56], [44, 46, 96, 60]),  # 0.15 of 40 = 6 px wide, 4 px tall
        ([10, 10, 50, 50], [4, 4, 56, 56]),  # 0.15 of 40 is larger: the share alone
        ([50, 50, 50, 60], [46, 46, 54, 64]),  # even a zero-width box covers 8 px
    ],
    ids=["tiny", "wide", "large", "zero-width"],
)
def test_every_region_grows_by_at_least_the_minimum_margin(box: list[float], expected: list[float]) -> None:
    detections = Detections.create([box], [0.9], FACE)
    result = apply_policy(detections, PrivacyPolicy(min_margin_px=4.0), frozenset({FACE}), FRAME_HW)
    np.testing.assert_allclose(result.boxes_xyxy[0], expected, atol=1e-4)


def test_mixed_origins_get_their_own_margins_in_order() -> None:
    detections = Detections.create(
        [[10, 10, 30, 30], [40, 40, 60, 60]], [0.9, 0.9], FACE, origin=[Origin.PROPAGATED, Origin.DETECTED]
    )
    result = apply_policy(detections, RATIO_ONLY, frozenset({FACE}), FRAME_HW)
    np.testing.assert_allclose(result.boxes_xyxy, [[4, 4, 36, 36], [37, 37, 63, 63]], atol=1e-4)


def test_polygons_scale_about_their_centroid() -> None:
    square = np.array([[10, 10], [30, 10], [30, 30], [10, 30]], np.float32)
    triangle = np.array([[0, 0], [30, 0], [0, 30]], np.float32)  # centroid (10, 10)
    detections = Detections.create(
        [[10, 10, 30, 30], [0, 0, 30, 30], [50, 50, 60, 60]],
        [0.9] * 3,
        PLATE,
        polygons=[square, triangle, None],
    )
    policy = PrivacyPolicy(margin_ratio=0.25, min_margin_px=0.0)
    result = apply_policy(detections, policy, frozenset({PLATE}), FRAME_HW)
    assert result.polygons is not None
    grown_square, grown_triangle, no_polygon = result.polygons
    assert grown_square is not None and grown_triangle is not None and no_polygon is None
    # A rectangle grows exactly like its box.
    np.testing.assert_allclose(grown_square, [[5, 5], [35, 5], [35, 35], [5, 35]], atol=1e-4)
    np.testing.assert_allclose(result.boxes_xyxy[0], [5, 5, 35, 35], atol=1e-4)
    # Not clipped: clamping vertices to the frame would cut corners off the region.
    np.testing.assert_allclose(grown_triangle, [[-5, -5], [40, -5], [-5, 40]], atol=1e-4)
    assert grown_square.dtype == np.float32


def test_a_thin_polygon_grows_by_at_least_the_minimum_margin_across() -> None:
    # A plate 20 px long and 4 px tall, turned 90° (its box is 4 wide): 0.15 × 4 is 0.6 px.
    plate = np.array([[50, 40], [54, 40], [54, 60], [50, 60]], np.float32)
    detections = Detections.create([[50, 40, 54, 60]], [0.9], PLATE, polygons=[plate])
    result = apply_policy(detections, PrivacyPolicy(min_margin_px=3.0), frozenset({PLATE}), FRAME_HW)
    assert result.polygons is not None and result.polygons[0] is not None
    grown = result.polygons[0]
    # 3 px either side across (scale 2.5 about the centre), and the length in proportion.
    np.testing.assert_allclose(grown.min(axis=0), [47, 25], atol=1e-4)
    np.testing.assert_allclose(grown.max(axis=0), [57, 75], atol=1e-4)


def test_masks_grow_by_at_least_the_minimum_margin() -> None:
    masks = np.zeros((1, *FRAME_HW), bool)
    masks[0, 40:46, 50:54] = True  # 4 wide, 6 tall: 0.15 of either is under a pixel
    detections = Detections.create([[50, 40, 54, 46]], [0.9], PERSON, masks=masks)
    policy = PrivacyPolicy(margin_ratio=0.0, min_margin_px=3.0)
    result = apply_policy(detections, policy, frozenset({PERSON}), FRAME_HW)
    assert result.masks is not None
    rows, cols = np.flatnonzero(result.masks[0].any(axis=1)), np.flatnonzero(result.masks[0].any(axis=0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (37, 48, 47, 56)
    assert result.masks[0][masks[0]].all()


def test_masks_dilate_in_proportion_to_the_box() -> None:
    masks = np.zeros((2, *FRAME_HW), bool)
    masks[0, 40:60, 50:60] = True  # box 10 wide, 20 tall
    masks[1, 0:10, 0:20] = True  # at the frame corner
    detections = Detections.create(
        [[50, 40, 60, 60], [0, 0, 20, 10]], [0.9, 0.9], PERSON, masks=masks, origin=Origin.DETECTED
    )
    policy = PrivacyPolicy(margin_ratio=0.2, min_margin_px=0.0)
    result = apply_policy(detections, policy, frozenset({PERSON}), FRAME_HW)
    assert result.masks is not None and result.masks.shape == masks.shape
    grown = result.masks[0]
    rows, cols = np.flatnonzero(grown.any(axis=1)), np.flatnonzero(grown.any(axis=0))
    # 0.2 × 20 = 4 rows above and below, 0.2 × 10 = 2 columns either side.
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (36, 63, 48, 61)
    assert grown[masks[0]].all()
    corner = result.masks[1]
    # 4 columns right, 2 rows down; the elliptical kernel rounds the far corner off.
    assert corner[:12, :20].all() and corner[:10, :24].all()
    assert not corner[12:, :].any() and not corner[:, 24:].any() and not corner[11, 23]


def test_masks_keep_their_shape_with_no_margin_and_empty_masks_stay_empty() -> None:
    masks = np.zeros((2, *FRAME_HW), bool)
    masks[0, 5:9, 5:9] = True
    detections = Detections.create([[5, 5, 9, 9], [20, 20, 40, 40]], [0.9, 0.9], PERSON, masks=masks)
    result = apply_policy(detections, NO_MARGIN, frozenset({PERSON}), FRAME_HW)
    assert result.masks is not None
    np.testing.assert_array_equal(result.masks, masks)
    grown = apply_policy(detections, PrivacyPolicy(), frozenset({PERSON}), FRAME_HW)
    assert grown.masks is not None and not grown.masks[1].any()


def test_inputs_are_not_modified() -> None:
    masks = np.zeros((1, *FRAME_HW), bool)
    masks[0, 10:20, 10:20] = True
    polygon = np.array([[10, 10], [20, 10], [20, 20]], np.float32)
    detections = Detections.create([[10, 10, 20, 20]], [0.9], PERSON, masks=masks, polygons=[polygon])
    before = (detections.boxes_xyxy.copy(), masks.copy(), polygon.copy())
    apply_policy(detections, PrivacyPolicy(margin_ratio=0.5), frozenset({PERSON}), FRAME_HW)
    np.testing.assert_array_equal(detections.boxes_xyxy, before[0])
    np.testing.assert_array_equal(masks, before[1])
    np.testing.assert_array_equal(polygon, before[2])


def test_track_ids_and_scores_follow_the_kept_regions() -> None:
    detections = Detections.create(
        [[0, 0, 5, 5], [10, 10, 15, 15], [20, 20, 25, 25]], [0.9, 0.1, 0.6], FACE, track_ids=[7, 8, 9]
    )
    result = apply_policy(detections, NO_MARGIN, frozenset({FACE}), FRAME_HW)
    assert result.track_ids is not None
    assert result.track_ids.tolist() == [7, 9]
    np.testing.assert_allclose(result.scores, [0.9, 0.6])


@pytest.mark.parametrize("frame_hw", [(0, 10), (10, -1)])
def test_bad_frame_size_is_refused(frame_hw: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="frame_hw"):
        apply_policy(Detections.empty(), PrivacyPolicy(), frozenset({FACE}), frame_hw)
