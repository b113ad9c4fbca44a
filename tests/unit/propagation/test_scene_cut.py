from __future__ import annotations

import numpy as np
import pytest
from moving_scenes import MovingSquare, scene, texture

from veil.errors import ConfigError
from veil.propagation.scene_cut import SceneCutDetector

SQUARE = MovingSquare(side=48, start=(40, 50), velocity=(4, 2))


def test_first_frame_is_not_a_cut() -> None:
    change = SceneCutDetector().observe(scene(0, (SQUARE,)).image)
    assert (change.cut, change.cut_score, change.change_score) == (False, 0.0, 0.0)


@pytest.mark.parametrize("pan", [(0, 0), (1, 1), (2, 1)])
def test_smooth_motion_and_panning_are_not_cuts(pan: tuple[int, int]) -> None:
    detector = SceneCutDetector()
    results = [detector.observe(scene(t, (SQUARE,), pan=pan).image) for t in range(12)]
    assert not any(r.cut for r in results)


def test_a_hard_cut_fires_once() -> None:
    detector = SceneCutDetector()
    first = [scene(t, (SQUARE,), seed=1).image for t in range(4)]
    second = [scene(t, (SQUARE,), seed=2).image for t in range(4, 8)]
    cuts = [detector.is_cut(image) for image in first + second]
    assert cuts == [False] * 4 + [True] + [False] * 3


def test_a_lighting_change_is_not_a_cut_but_is_a_change() -> None:
    detector = SceneCutDetector()
    image = scene(0, (SQUARE,)).image
    detector.observe(image)
    darker = detector.observe((image * 0.6).astype(np.uint8))
    assert not darker.cut
    assert darker.change_score > 0.1


def test_change_score_grows_with_motion() -> None:
    def change_at(speed: float) -> float:
        square = MovingSquare(side=64, start=(40, 50), velocity=(speed, 0))
        detector = SceneCutDetector()
        detector.observe(scene(0, (square,)).image)
        return detector.observe(scene(1, (square,)).image).change_score

    assert change_at(0) == 0.0
    assert 0.0 < change_at(4) < change_at(16)


@pytest.mark.parametrize(("before", "after", "cut"), [(0, 0, False), (0, 255, True), (0, None, True)])
def test_flat_frames(before: int, after: int | None, cut: bool) -> None:
    detector = SceneCutDetector()
    detector.observe(np.full((72, 128, 3), before, np.uint8))
    image = np.full((72, 128, 3), after, np.uint8) if after is not None else texture(72, 128, seed=3)
    assert detector.is_cut(image) is cut


def test_reset_forgets_the_previous_frame() -> None:
    detector = SceneCutDetector()
    detector.observe(scene(0, (SQUARE,), seed=1).image)
    detector.reset()
    assert not detector.is_cut(scene(0, (SQUARE,), seed=2).image)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_threshold_out_of_range_is_refused(threshold: float) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        SceneCutDetector(threshold)
