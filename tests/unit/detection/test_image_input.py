"""Bottom/right padding shared by the network-input detectors."""

from __future__ import annotations

import numpy as np
import pytest

from veil.detection.image_input import pad_to_multiple


@pytest.mark.parametrize(
    ("shape", "multiple", "expected"),
    [((70, 100), 32, (96, 128)), ((1, 1), 32, (32, 32)), ((33, 31), 32, (64, 32)), ((5, 6), 4, (8, 8))],
)
def test_pad_to_multiple(shape: tuple[int, int], multiple: int, expected: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(1, 256, (*shape, 3), dtype=np.uint8)
    original = image.copy()
    padded = pad_to_multiple(image, multiple)
    assert padded.shape == (*expected, 3)
    np.testing.assert_array_equal(padded[: shape[0], : shape[1]], image)
    assert not padded[shape[0] :].any() and not padded[:, shape[1] :].any()
    np.testing.assert_array_equal(image, original)


def test_pad_returns_the_image_when_it_fits() -> None:
    image = np.zeros((64, 32, 3), np.uint8)
    assert pad_to_multiple(image, 32) is image
