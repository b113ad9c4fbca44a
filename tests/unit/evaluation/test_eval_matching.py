"""Which detections find which annotated boxes, and how much of a box a mask covers."""

from __future__ import annotations

import numpy as np
import pytest

from veil.evaluation.matching import covered_fraction, match_matrix, matched_scores
from veil.geometry import inside_fraction_matrix

TRUTH = np.array([[100, 100, 140, 140]], np.float32)  # a tight 40 px face box


@pytest.mark.parametrize(
    ("found", "matched"),
    [
        ([100, 100, 140, 140], True),  # identical
        ([110, 110, 150, 150], True),  # shifted by a quarter: IoU 0.39
        ([120, 100, 160, 140], True),  # shifted by half a side: IoU 1/3
        ([130, 100, 170, 140], True),  # IoU 0.14, but half of it lies inside the grown box
        ([135, 100, 175, 140], False),  # IoU 0.07 and most of it outside the grown box
        ([85, 80, 155, 160], True),  # whole-head box: IoU 0.29, but wholly inside the grown box
        ([115, 115, 125, 125], False),  # a speck inside the face: too small to count
        ([0, 0, 40, 40], False),  # elsewhere
    ],
)
def test_match_matrix_single_box(found: list[float], matched: bool) -> None:
    table = match_matrix(TRUTH, np.array([found], np.float32))
    assert table.shape == (1, 1)
    assert bool(table[0, 0]) is matched


def test_match_matrix_empty_inputs() -> None:
    assert match_matrix(TRUTH, np.zeros((0, 4), np.float32)).shape == (1, 0)
    assert match_matrix(np.zeros((0, 4), np.float32), TRUTH).shape == (0, 1)


def test_matched_scores_takes_best_matching_detection_per_box() -> None:
    truth = np.array([[100, 100, 140, 140], [300, 300, 340, 340]], np.float32)
    found = np.array([[101, 101, 141, 141], [99, 99, 139, 139], [0, 0, 40, 40]], np.float32)
    scores = np.array([0.6, 0.8, 0.99], np.float32)
    assert matched_scores(truth, found, scores).tolist() == pytest.approx([0.8, 0.0])
    assert matched_scores(truth, found[:0], scores[:0]).tolist() == [0.0, 0.0]


def test_inside_fraction_matrix() -> None:
    inner = np.array([[0, 0, 10, 10], [5, 5, 5, 5]], np.float32)
    outer = np.array([[0, 0, 5, 10], [100, 100, 110, 110]], np.float32)
    table = inside_fraction_matrix(inner, outer)
    np.testing.assert_allclose(table, [[0.5, 0.0], [0.0, 0.0]])  # a zero-area box lies nowhere
    assert inside_fraction_matrix(inner[:0], outer).shape == (0, 2)


def test_covered_fraction() -> None:
    mask = np.zeros((20, 20), bool)
    mask[0:10, 0:10] = True
    assert covered_fraction(mask, [0, 0, 10, 10]) == 1.0
    assert covered_fraction(mask, [0, 0, 20, 10]) == 0.5
    assert covered_fraction(mask, [5.5, 0, 10, 10]) == 1.0  # partial pixels count whole
    assert covered_fraction(mask, [15, 15, 25, 25]) == 0.0  # partly outside the frame: uncovered
    assert covered_fraction(mask, [-10, 0, 10, 10]) == 0.5
    assert covered_fraction(mask, [3, 3, 3, 8]) == 0.0  # empty box
