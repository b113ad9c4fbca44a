from __future__ import annotations

import pytest

from veil.errors import ConfigError
from veil.propagation.schedule import DetectionSchedule


def _run(schedule: DetectionSchedule, frames: list[tuple[int, float, bool]]) -> list[int]:
    return [index for index, change, cut in frames if schedule.should_detect(index, change, cut)]


@pytest.mark.parametrize(
    ("detect_every", "frames", "expected"),
    [
        # every Nth frame from frame 0
        (3, [(i, 0.0, False) for i in range(10)], [0, 3, 6, 9]),
        (1, [(i, 0.0, False) for i in range(4)], [0, 1, 2, 3]),
        # a cut detects at once and restarts the count
        (5, [(i, 0.0, i == 2) for i in range(9)], [0, 2, 7]),
        # change summed since the last detection: 0.04 + 0.04 reaches 0.06 on frame 2
        (5, [(0, 0.0, False), (1, 0.04, False), (2, 0.04, False), (3, 0.0, False)], [0, 2]),
        # one large change detects on that frame
        (5, [(0, 0.0, False), (1, 0.0, False), (2, 0.5, False), (3, 0.0, False)], [0, 2]),
        # a stream that does not start at 0 detects on its first frame
        (4, [(i, 0.0, False) for i in range(10, 16)], [10, 14]),
        # a seek backwards detects
        (5, [(0, 0.0, False), (1, 0.0, False), (0, 0.0, False), (1, 0.0, False)], [0, 0]),
        # frames missing from the stream still count
        (3, [(0, 0.0, False), (4, 0.0, False), (5, 0.0, False), (7, 0.0, False)], [0, 4, 7]),
        # empty stream
        (3, [], []),
    ],
)
def test_schedule_table(
    detect_every: int, frames: list[tuple[int, float, bool]], expected: list[int]
) -> None:
    assert _run(DetectionSchedule(detect_every, change_threshold=0.06), frames) == expected


def test_change_trigger_can_be_turned_off() -> None:
    schedule = DetectionSchedule(4, change_threshold=None)
    assert _run(schedule, [(i, 1.0, False) for i in range(6)]) == [0, 4]


def test_reset_makes_the_next_frame_detect() -> None:
    schedule = DetectionSchedule(10)
    assert _run(schedule, [(0, 0.0, False), (1, 0.0, False)]) == [0]
    schedule.reset()
    assert schedule.should_detect(2)


@pytest.mark.parametrize(
    ("detect_every", "change_threshold"), [(0, 0.1), (1001, 0.1), (5, 0.0), (5, -1.0), (5, 101.0)]
)
def test_out_of_range_settings_are_refused(detect_every: int, change_threshold: float) -> None:
    with pytest.raises(ConfigError):
        DetectionSchedule(detect_every, change_threshold)
