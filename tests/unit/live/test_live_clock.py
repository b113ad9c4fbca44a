"""Live timestamps start at zero, keep the source's spacing, only increase and bridge reconnections."""

from __future__ import annotations

from fractions import Fraction

import pytest

from veil.live.clock import LiveClock

TB = Fraction(1, 90_000)


def clock() -> LiveClock:
    return LiveClock(TB, Fraction(30))


def test_source_timestamps_are_rebased_to_zero_and_keep_their_spacing() -> None:
    c = clock()
    got = [c.stamp(pts, TB, arrival) for pts, arrival in [(126_000, 0.0), (129_000, 0.1), (135_000, 0.2)]]
    assert got == [0, 3000, 9000]
    assert c.repaired == 0


def test_other_source_time_bases_are_converted() -> None:
    c = clock()
    ms = Fraction(1, 1000)
    assert [c.stamp(p, ms, 0.0) for p in (500, 540, 600)] == [0, 3600, 9000]


@pytest.mark.parametrize("second_pts", [126_000, 120_000])
def test_a_repeated_or_backward_timestamp_moves_one_frame_after_the_last(second_pts: int) -> None:
    c = clock()
    c.stamp(126_000, TB, 0.0)
    assert c.stamp(second_pts, TB, 0.03) == 3000
    assert c.repaired == 1


def test_a_large_jump_is_a_discontinuity_and_later_frames_follow_on() -> None:
    c = clock()
    c.stamp(0, TB, 0.0)
    c.stamp(3000, TB, 0.03)
    wrapped = 2**33 - 900_000  # MPEG-TS's 33-bit clock restarting far back
    assert c.stamp(wrapped, TB, 0.06) == 6000
    assert c.stamp(wrapped + 3000, TB, 0.1) == 9000


def test_sources_without_timestamps_are_stamped_by_arrival() -> None:
    c = clock()
    assert [c.stamp(None, None, t) for t in (10.0, 10.04, 10.1)] == [0, 3600, 9000]


def test_after_a_reconnection_the_pause_shows_and_time_goes_on() -> None:
    c = clock()
    c.stamp(5000, TB, 0.0)
    c.stamp(8000, TB, 0.033)
    c.reconnected()
    first = c.stamp(0, TB, 2.033)  # the new connection restarts its clock; two seconds passed
    assert first == 3000 + 180_000
    assert c.stamp(3000, TB, 2.066) == first + 3000
