"""The shared argument checks: ranges and the one pixel convention."""

from __future__ import annotations

import numpy as np
import pytest

from veil.checks import check_range, require_rgb
from veil.errors import ConfigError, UnsupportedFrameError


def test_require_rgb_returns_height_and_width() -> None:
    assert require_rgb(np.zeros((7, 9, 3), np.uint8)) == (7, 9)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (np.zeros((0, 9, 3), np.uint8), "zero size"),
        (np.zeros((7, 0, 3), np.uint8), "zero size"),
        (np.zeros((7, 9), np.uint8), "H×W×3"),
        (np.zeros((7, 9, 4), np.uint8), "H×W×3"),
        (np.zeros((7, 9, 3), np.uint16), "uint16"),
        ([[1, 2, 3]], "list"),
    ],
)
def test_require_rgb_rejects(bad: np.ndarray, needle: str) -> None:
    with pytest.raises(UnsupportedFrameError, match=needle):
        require_rgb(bad)


@pytest.mark.parametrize(
    ("value", "ok"), [(0.0, True), (0.5, True), (1.0, True), (-0.01, False), (1.01, False)]
)
def test_check_range_names_field_value_and_range(value: float, ok: bool) -> None:
    if ok:
        check_range("margin_ratio", value, 0.0, 1.0)
        return
    with pytest.raises(ConfigError, match=r"margin_ratio=.* is out of range \[0.0, 1.0\]"):
        check_range("margin_ratio", value, 0.0, 1.0)
