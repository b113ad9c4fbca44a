"""The removal package's small parts: median plate, smooth fill, batches, masks, settings."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import ConfigError
from veil.removal.batches import BatchOrganizer, CameraMotion, camera_motion_px
from veil.removal.fields import complete_flow, sample_at, smooth_fill
from veil.removal.masks import grow, in_box, region_masks, select_regions, shadow_margin
from veil.removal.plate import masked_median
from veil.removal.settings import RemovalSettings
from veil.types import ObjectClass

PERSON, VEHICLE, FACE = ObjectClass.PERSON, ObjectClass.VEHICLE, ObjectClass.FACE


def test_masked_median_counts_only_valid_samples() -> None:
    values = np.array([[10, 1, 7], [20, 2, 7], [200, 3, 7], [30, 4, 7]], np.uint8)[..., None]
    valid = np.array([[1, 0, 1], [1, 0, 1], [0, 0, 0], [1, 0, 0]], bool)
    median, known = masked_median(values, valid)
    assert median[:, 0].tolist() == [20, 0, 7]
    assert known.tolist() == [True, False, True]


def test_masked_median_of_an_even_count_is_the_middle_mean() -> None:
    values = np.array([[10], [20], [255], [0]], np.uint8)[..., None]
    median, _ = masked_median(values, np.array([[1], [1], [0], [0]], bool))
    assert median[0, 0] == 15


def test_masked_median_with_no_points() -> None:
    median, known = masked_median(np.zeros((3, 0, 3), np.uint8), np.zeros((3, 0), bool))
    assert median.shape == (0, 3) and known.shape == (0,)


def test_smooth_fill_recovers_a_linear_field_and_keeps_known_values() -> None:
    ys, xs = np.mgrid[0:40, 0:50].astype(np.float32)
    field = np.stack([0.1 * xs + 1, 0.05 * ys], axis=2)
    known = np.ones((40, 50), bool)
    known[10:30, 15:35] = False
    broken = np.where(known[..., None], field, 99.0).astype(np.float32)
    filled = smooth_fill(broken, known)
    assert np.array_equal(filled[known], field[known])
    assert np.abs(filled - field)[~known].mean() < 0.3


@pytest.mark.parametrize("known_share", [0.0, 1.0])
def test_smooth_fill_edge_cases(known_share: float) -> None:
    values = np.full((4, 5, 2), 3.0, np.float32)
    filled = smooth_fill(values, np.full((4, 5), bool(known_share)))
    assert np.all(filled == (3.0 if known_share else 0.0))


def test_complete_flow_replaces_the_hole_with_the_surroundings() -> None:
    flow = np.zeros((30, 30, 2), np.float32)
    flow[..., 0] = 2.0
    flow[10:20, 10:20] = (9.0, -9.0)  # the object's own motion
    hole = np.zeros((30, 30), bool)
    hole[9:21, 9:21] = True
    done = complete_flow(flow, hole)
    assert np.allclose(done[hole], (2.0, 0.0), atol=1e-4)


def test_sample_at_reads_pixels_and_handles_many_points() -> None:
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = sample_at(image, np.array([0, 3, 1.5], np.float32), np.array([0, 2, 1], np.float32))
    assert got[:, 0].tolist() == [0.0, 11.0, 5.5]
    many = np.zeros(40_000, np.float32)
    assert sample_at(image, many, many).shape == (40_000, 1)


def test_camera_motion_ignores_masked_objects() -> None:
    flow = np.zeros((20, 20, 2), np.float32)
    flow[:8] = (5.0, 0.0)
    ignore = np.zeros((20, 20), bool)
    ignore[:8] = True
    assert camera_motion_px(flow, ignore) == 0.0
    flow[:] = (3.0, 4.0)
    assert camera_motion_px(flow) == pytest.approx(5.0)


def test_organizer_splits_batches_at_cuts_and_sustained_motion_changes() -> None:
    organizer = BatchOrganizer(still_px=0.3, votes=3)
    still = [organizer.observe(m) for m in [None, 0.0, 0.0, 0.0, 0.0]]
    jolt = [organizer.observe(m) for m in [2.0, 0.0, 0.0]]  # one jolt does not split
    moving = [organizer.observe(m) for m in [2.0, 2.0, 2.0, 2.0]]
    cut = organizer.observe(None, cut=True)
    assert set(still + jolt) == {0}
    assert moving[-1] == 1 and organizer.kind(1) is CameraMotion.MOVING
    assert organizer.kind(0) is CameraMotion.STILL
    assert cut == 2


def test_a_young_batch_is_relabelled_not_split() -> None:
    organizer = BatchOrganizer(still_px=0.3, votes=3)
    segments = [organizer.observe(m) for m in [None, 1.0, 1.0, 1.0]]
    assert segments == [0, 0, 0, 0]
    assert organizer.kind(0) is CameraMotion.MOVING


def _regions() -> Detections:
    return Detections.create(
        [[10, 10, 20, 40], [50, 5, 90, 25], [0, 0, 5, 5]],
        [0.9, 0.2, 0.9],
        [PERSON, VEHICLE, FACE],
        track_ids=[3, 4, 5],
    )


def test_select_regions_by_class_score_and_track() -> None:
    regions = _regions()
    assert len(select_regions(regions, frozenset({PERSON, VEHICLE}), 0.25)) == 1
    assert len(select_regions(regions, frozenset({PERSON, VEHICLE}), 0.1)) == 2
    chosen = select_regions(regions, frozenset({PERSON, VEHICLE}), 0.1, track_id=4)
    assert chosen.track_ids is not None and chosen.track_ids.tolist() == [4]
    assert len(select_regions(Detections.empty(), frozenset({PERSON}), 0.0, track_id=1)) == 0


def test_in_box_keeps_regions_centred_inside() -> None:
    assert in_box(_regions(), (40, 0, 100, 30)).labels.tolist() == [VEHICLE]


def test_region_masks_are_silhouettes_or_boxes() -> None:
    silhouette = np.zeros((1, 50, 100), bool)
    silhouette[0, 20:30, 12:18] = True
    regions = Detections.create([[10, 10, 20, 40]], [0.9], PERSON, masks=silhouette)
    assert region_masks(regions, (50, 100)).sum() == 60
    assert region_masks(regions, (50, 100), silhouettes=False).sum() == 10 * 30
    no_masks = Detections.create([[10, 10, 20, 40]], [0.9], PERSON)
    assert region_masks(no_masks, (50, 100)).sum() == 10 * 30


def test_shadow_margin_grows_around_the_feet_only() -> None:
    masks = np.zeros((1, 100, 100), bool)
    masks[0, 20:60, 45:55] = True
    margin = shadow_margin(masks, np.array([[45, 20, 55, 60]], np.float32), 0.25)
    rows = np.flatnonzero(margin.any(axis=1))
    assert rows.min() >= 40 and rows.max() == 59 + 10  # from the foot band to 10 px below the last row
    assert margin[65].sum() > 10  # wider than the object: shadows lie along the ground
    assert not shadow_margin(masks, np.array([[45, 20, 55, 60]], np.float32), 0.0).any()


def test_grow_dilates_and_leaves_input_alone() -> None:
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    grown = grow(mask, 2)
    assert grown.sum() > 9 and mask.sum() == 1
    assert np.array_equal(grow(mask, 0), mask)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"targets": frozenset()}, "targets"),
        ({"targets": frozenset({FACE})}, "face"),
        ({"track_id": -1}, "track_id"),
        ({"box_xyxy": (10, 10, 5, 20)}, "box_xyxy"),
        ({"score_threshold": 1.5}, "score_threshold"),
        ({"window_radius": 0}, "window_radius"),
        ({"shadow_margin_ratio": -0.1}, "shadow_margin_ratio"),
        ({"dilate_px": 999}, "dilate_px"),
        ({"box_margin_ratio": 1.5}, "box_margin_ratio"),
        ({"lookahead_frames": -1}, "lookahead_frames"),
    ],
)
def test_settings_validation_names_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        RemovalSettings(**options)  # type: ignore[arg-type]


def test_automatic_dilation_follows_frame_size() -> None:
    assert RemovalSettings().dilation_px((360, 480)) == 3
    assert RemovalSettings().dilation_px((720, 1280)) == 8
    assert RemovalSettings(dilate_px=0).dilation_px((720, 1280)) == 0
