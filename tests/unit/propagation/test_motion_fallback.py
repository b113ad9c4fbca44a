from __future__ import annotations

import numpy as np
import pytest
from moving_scenes import MovingSquare, scene

from veil.detections import Detections
from veil.errors import ConfigError
from veil.geometry import iou_matrix
from veil.propagation.motion import MotionFallback
from veil.types import Frame, ObjectClass, Origin

WALKER = MovingSquare(side=40, start=(60, 80), velocity=(4, 2))
COVERED = MovingSquare(side=36, start=(200, 60), velocity=(-3, 3), seed=9)


def _covering(square: MovingSquare, t: int) -> Detections:
    return Detections.create(square.box(t)[None], [0.9], ObjectClass.PERSON)


def _run(fallback: MotionFallback, frames: int, pan: tuple[int, int] = (0, 0)) -> list[Detections]:
    return [
        fallback.update(scene(t, (WALKER, COVERED), pan=pan), _covering(COVERED, t)) for t in range(frames)
    ]


@pytest.mark.parametrize(("static_camera", "pan"), [(False, (0, 0)), (False, (3, -2)), (True, (0, 0))])
def test_an_unexplained_mover_is_found_and_an_explained_one_is_not(
    static_camera: bool, pan: tuple[int, int]
) -> None:
    results = _run(MotionFallback(static_camera=static_camera), 8, pan)
    assert len(results[0]) == 0  # one frame shows no motion
    for t, found in enumerate(results[1:], start=1):
        assert len(found) == 1, f"frame {t}"
        assert iou_matrix(found.boxes_xyxy, WALKER.box(t)[None])[0, 0] > 0.5
        assert list(found.labels) == [ObjectClass.PERSON]
        assert list(found.origins) == [Origin.PROPAGATED]
        assert float(found.scores[0]) < 0.2


def test_a_panning_camera_alone_is_not_motion() -> None:
    fallback = MotionFallback()
    assert all(len(fallback.update(scene(t, (), pan=(5, 3)), Detections.empty())) == 0 for t in range(8))


def test_the_whole_square_explained_by_a_box_is_ignored() -> None:
    fallback = MotionFallback()
    found = [fallback.update(scene(t, (WALKER,)), _covering(WALKER, t)) for t in range(5)]
    assert all(len(f) == 0 for f in found)


def test_blobs_outside_the_size_bounds_are_ignored() -> None:
    fallback = MotionFallback(min_area_ratio=0.1)  # the walker covers about 2 % of the frame
    assert all(len(f) == 0 for f in _run(fallback, 5))


def test_letterbox_bars_do_not_make_motion() -> None:
    def barred(t: int) -> Frame:
        image = scene(t, (), pan=(4, 0)).image.copy()
        image[:, :30] = 0
        image[:, -30:] = 0
        return Frame(image, t)

    fallback = MotionFallback()
    assert all(len(fallback.update(barred(t), Detections.empty())) == 0 for t in range(8))


def test_reset_and_a_new_frame_size_start_over() -> None:
    fallback = MotionFallback()
    _run(fallback, 3)
    fallback.reset()
    assert len(fallback.update(scene(3, (WALKER,)), Detections.empty())) == 0
    assert len(fallback.update(Frame(np.zeros((100, 120, 3), np.uint8), 4), Detections.empty())) == 0


@pytest.mark.parametrize(
    "settings",
    [
        {"work_long_side_px": 10},
        {"residual_px": 0.0},
        {"min_area_ratio": 0.3, "max_area_ratio": 0.2},
        {"explained_ratio": 0.0},
        {"score": 1.5},
    ],
)
def test_out_of_range_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        MotionFallback(**settings)
