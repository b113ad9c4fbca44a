from __future__ import annotations

import numpy as np
import pytest

from veil.geometry import inside_fraction_matrix


@pytest.mark.parametrize(
    ("inner", "outer", "expected"),
    [
        ([[0, 0, 10, 10]], [[0, 0, 10, 10]], [[1.0]]),
        ([[0, 0, 10, 10]], [[5, 0, 20, 10], [20, 20, 30, 30]], [[0.5, 0.0]]),
        ([[0, 0, 10, 10]], [[-5, -5, 50, 50]], [[1.0]]),
        ([[0, 0, 0, 0]], [[0, 0, 10, 10]], [[0.0]]),  # no area: nothing inside
        (np.zeros((0, 4)), [[0, 0, 10, 10]], np.zeros((0, 1))),
        ([[0, 0, 10, 10]], np.zeros((0, 4)), np.zeros((1, 0))),
    ],
)
def test_inside_fraction_matrix(inner: object, outer: object, expected: object) -> None:
    got = inside_fraction_matrix(np.asarray(inner, np.float32), np.asarray(outer, np.float32))
    np.testing.assert_allclose(got, np.asarray(expected, np.float32).reshape(got.shape), atol=1e-6)
    assert got.shape == np.asarray(expected).reshape(got.shape).shape
