"""Pixel metrics, AP, baselines and rank-1 re-identification against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from veil.errors import ConfigError, UnsupportedFrameError
from veil.evaluation.average_precision import ImageDetections, average_precision, precision_recall
from veil.evaluation.baselines import GlobalBaseline, apply_baseline
from veil.evaluation.image_metrics import detail_ratio, high_frequency_energy, masked_ssim, ssim_map
from veil.evaluation.reid_attack import chance_rank1, rank1_hits


def _texture(height: int = 40, width: int = 60) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


# --- detail left and SSIM ---------------------------------------------------------------------------------


def test_flat_region_has_no_high_frequency_energy() -> None:
    assert high_frequency_energy(np.full((20, 20, 3), 90, np.uint8), (0, 0, 20, 20)) == 0.0


def test_energy_grows_with_the_square_of_contrast() -> None:
    stripes = np.zeros((20, 20, 3), np.uint8)
    stripes[:, ::2] = 40
    doubled = stripes * 2
    box = (2, 2, 18, 18)
    assert high_frequency_energy(doubled, box) == pytest.approx(
        4 * high_frequency_energy(stripes, box), rel=1e-3
    )


def test_detail_ratio_is_one_untouched_and_zero_when_masked() -> None:
    image = _texture()
    masked = image.copy()
    masked[10:30, 10:40] = 0
    box = (10, 10, 40, 30)
    assert detail_ratio(image, image, box) == pytest.approx(1.0)
    assert detail_ratio(image, masked, box) == 0.0
    assert detail_ratio(image, masked, (45, 0, 60, 10)) == pytest.approx(1.0)  # outside the masked part
    assert detail_ratio(image, image, (100, 100, 120, 120)) == 1.0  # off the frame: flat stays flat


def test_ssim_is_one_for_identical_images_and_lower_for_a_changed_one() -> None:
    image = _texture()
    assert float(ssim_map(image, image).min()) == pytest.approx(1.0, abs=1e-5)
    shifted = np.roll(image, 3, axis=1)  # random texture moved by 3 px shares no structure with itself
    assert masked_ssim(image, shifted, np.ones(image.shape[:2], bool)) < 0.2


def test_masked_ssim_ignores_pixels_outside_the_mask() -> None:
    image = _texture()
    changed = image.copy()
    changed[:, 30:] = 0
    left = np.zeros(image.shape[:2], bool)
    left[:, :20] = True  # far enough from the change that the 1.5 px window does not reach it
    assert masked_ssim(image, changed, left) == pytest.approx(1.0, abs=1e-5)
    assert masked_ssim(image, changed, np.zeros_like(left)) is None
    with pytest.raises(UnsupportedFrameError):
        masked_ssim(image, changed, np.ones((3, 3), bool))


# --- average precision ------------------------------------------------------------------------------------

TRUTH = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)


def test_ap_on_two_boxes_by_hand() -> None:
    # 0.9 finds box 1 (TP), 0.8 is nowhere (FP), 0.7 finds box 2 (TP):
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 → AP = 1/2·1 + 1/2·2/3 = 5/6.
    found = np.array([[0, 0, 10, 10], [50, 50, 60, 60], [21, 21, 30, 30]], np.float32)
    image = ImageDetections(TRUTH, found, np.array([0.9, 0.8, 0.7], np.float32))
    precision, recall = precision_recall([image])
    assert precision.tolist() == pytest.approx([1.0, 0.5, 2 / 3])
    assert recall.tolist() == pytest.approx([0.5, 0.5, 1.0])
    assert average_precision([image]) == pytest.approx(5 / 6)


def test_ap_counts_a_second_detection_of_one_box_as_false() -> None:
    found = np.array([[0, 0, 10, 10], [0, 0, 10, 9]], np.float32)
    image = ImageDetections(TRUTH, found, np.array([0.9, 0.8], np.float32))
    assert average_precision([image]) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (TRUTH, 1.0),
        (np.zeros((0, 4), np.float32), 0.0),
        (np.array([[100, 100, 110, 110]], np.float32), 0.0),
    ],
)
def test_ap_edge_cases(found: np.ndarray, expected: float) -> None:
    image = ImageDetections(TRUTH, found, np.linspace(0.9, 0.5, len(found), dtype=np.float32))
    assert average_precision([image]) == pytest.approx(expected)


def test_ap_without_reference_boxes_is_none_and_images_are_pooled() -> None:
    empty = ImageDetections(np.zeros((0, 4)), np.array([[0, 0, 5, 5]]), np.array([0.9]))
    assert average_precision([empty]) is None
    hit = ImageDetections(TRUTH[:1], TRUTH[:1], np.array([0.5]))
    # The false alarm on the other image outranks the hit: precision 1/2 at recall 1.
    assert average_precision([empty, hit]) == pytest.approx(0.5)
    with pytest.raises(ConfigError):
        ImageDetections(TRUTH, TRUTH, np.array([0.5]))


# --- whole-frame baselines --------------------------------------------------------------------------------


def test_quantize_maps_each_value_to_the_middle_of_its_eighth() -> None:
    image = np.array([[[0, 31, 32], [100, 224, 255]]], np.uint8)
    out = apply_baseline(GlobalBaseline.QUANTIZE, image)
    assert out.tolist() == [[[16, 16, 48], [112, 240, 240]]]


def test_pixelate_to_a_third_gives_three_pixel_blocks() -> None:
    out = apply_baseline(GlobalBaseline.PIXELATE, _texture(30, 30))
    assert (out[0:3, 0:3] == out[0, 0]).all()
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= 100


def test_noise_has_the_stated_spread_and_is_repeatable() -> None:
    grey = np.full((200, 200, 3), 128, np.uint8)
    out = apply_baseline(GlobalBaseline.NOISE, grey, seed=3)
    assert float(np.std(out.astype(float) - 128)) == pytest.approx(0.075 * 255, rel=0.05)
    assert np.array_equal(out, apply_baseline(GlobalBaseline.NOISE, grey, seed=3))
    assert np.array_equal(grey, np.full((200, 200, 3), 128, np.uint8))  # input untouched


def test_gaussian_blur_spreads_an_impulse_over_nine_by_nine() -> None:
    image = np.zeros((21, 21, 3), np.uint8)
    image[10, 10] = 255
    out = apply_baseline(GlobalBaseline.GAUSSIAN_BLUR, image)
    assert out[10, 10, 0] < 255 and out[10, 14, 0] > 0 and out[10, 15, 0] == 0


def test_baselines_refuse_non_images() -> None:
    with pytest.raises(UnsupportedFrameError):
        apply_baseline(GlobalBaseline.NOISE, np.zeros((4, 4), np.uint8))


# --- rank-1 re-identification -----------------------------------------------------------------------------


def test_rank1_hits_by_hand() -> None:
    gallery = np.eye(3, dtype=np.float32)
    queries = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0.2, 0.9]], np.float32)
    assert rank1_hits(queries, gallery).tolist() == [True, False, True]


def test_rank1_identical_queries_hit_only_their_nearest_gallery_entry() -> None:
    gallery = np.array([[1, 0], [0.6, 0.8]], np.float32)
    same = np.array([[1, 0], [1, 0]], np.float32)  # two blacked-out crops look alike
    assert rank1_hits(same, gallery).tolist() == [True, False]
    tied = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)
    assert rank1_hits(tied, np.array([[0.5, 0.5], [0.5, 0.5]], np.float32)).tolist() == [False, False]


def test_chance_is_one_hit_per_gallery() -> None:
    assert chance_rank1([2, 4]) == pytest.approx(2 / 6)
    assert chance_rank1([]) == 0.0
