from __future__ import annotations

from fractions import Fraction

import pytest

from veil.video.timestamps import FrameClock, TimingSource


def stamp_all(clock: FrameClock, pts: list[int | None]) -> list[int]:
    return [clock.stamp(i, p) for i, p in enumerate(pts)]


def test_trusted_timestamps_kept_exactly_including_variable_gaps() -> None:
    clock = FrameClock(frame_rate=Fraction(25), time_base=Fraction(1, 1000))
    pts: list[int | None] = [0, 40, 120, 160, 280]
    assert stamp_all(clock, pts) == [0, 40, 120, 160, 280]
    assert clock.time_base == Fraction(1, 1000)
    assert clock.repaired == 0


def test_synthesized_from_index_ignores_shuffled_decoder_times() -> None:
    clock = FrameClock(
        frame_rate=Fraction(25), time_base=Fraction(1, 25), start_pts=0, source=TimingSource.FRAME_INDEX
    )
    assert stamp_all(clock, [1, 3, 4, 2, 6]) == [0, 1, 2, 3, 4]


def test_packet_order_gives_each_frame_the_next_slot_even_with_empty_slots() -> None:
    # A 25 fps AVI in 1/50 ticks: chunks on every other slot, B-frames in decode order, decoder pts
    # shuffled. The n-th frame out of the decoder is shown at the n-th smallest packet time.
    clock = FrameClock(frame_rate=Fraction(25), time_base=Fraction(1, 50), source=TimingSource.PACKETS)
    stamps = []
    for dts, decoder_pts in [(0, None), (2, 7), (4, 3), (6, 5), (8, 1)]:
        clock.offer(dts)
        stamps.append(clock.stamp(len(stamps), decoder_pts))
    assert stamps == [0, 2, 4, 6, 8]
    assert clock.repaired == 0


def test_synthesized_in_fine_time_base_uses_whole_tick_steps() -> None:
    clock = FrameClock(
        frame_rate=Fraction(25), time_base=Fraction(1, 1_200_000), source=TimingSource.FRAME_INDEX
    )
    assert stamp_all(clock, [None, None, None]) == [0, 48_000, 96_000]
    assert clock.time_base == Fraction(1, 1_200_000)


def test_synthesized_switches_to_frame_periods_when_ticks_do_not_divide() -> None:
    clock = FrameClock(
        frame_rate=Fraction(30000, 1001),
        time_base=Fraction(1, 1000),
        start_pts=2002,
        source=TimingSource.FRAME_INDEX,
    )
    assert clock.time_base == Fraction(1001, 30000)
    assert stamp_all(clock, [None, None]) == [60, 61]  # 2.002 s = 60 frame periods


def test_missing_time_base_counts_frame_periods() -> None:
    clock = FrameClock(frame_rate=Fraction(10), time_base=None)
    assert stamp_all(clock, [5, 7, 9]) == [0, 1, 2]
    assert clock.time_base == Fraction(1, 10)


@pytest.mark.parametrize(
    ("pts", "expected"),
    [
        ([0, None, 80], [0, 40, 80]),
        ([0, 40, 40, 120], [0, 40, 80, 120]),
        ([0, 40, 20, 120], [0, 40, 80, 120]),
        ([None, None], [0, 40]),
    ],
)
def test_missing_or_backward_timestamps_are_repaired(pts: list[int | None], expected: list[int]) -> None:
    clock = FrameClock(frame_rate=Fraction(25), time_base=Fraction(1, 1000))
    assert stamp_all(clock, pts) == expected
    assert clock.repaired == sum(1 for a, b in zip(pts, expected, strict=True) if a != b)


def test_rejects_non_positive_frame_rate() -> None:
    with pytest.raises(ValueError, match="frame_rate"):
        FrameClock(frame_rate=Fraction(0), time_base=Fraction(1, 25))
