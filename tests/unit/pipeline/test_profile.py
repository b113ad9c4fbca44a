"""The stage clock: calls and times summed per stage, from several threads, iterators timed in next()."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from veil.pipeline.profile import StageClock, StageTime
from veil.pipeline.report import RunReport


def test_measure_sums_calls_and_wall_time_per_stage() -> None:
    clock = StageClock()
    for _ in range(3):
        with clock.measure("sleep"):
            time.sleep(0.01)
    with clock.measure("spin"):
        end = time.thread_time() + 0.02
        while time.thread_time() < end:
            pass
    times = clock.times()
    assert list(times) == ["sleep", "spin"]
    assert times["sleep"].calls == 3 and times["sleep"].wall_s >= 0.03
    assert times["sleep"].cpu_s < times["sleep"].wall_s  # sleeping costs no CPU
    assert times["spin"].cpu_s >= 0.02


def test_timed_iter_times_each_item_and_yields_all() -> None:
    clock = StageClock()

    def slow() -> Iterator[int]:
        for i in range(4):
            time.sleep(0.005)
            yield i

    assert list(clock.timed_iter("decode", slow())) == [0, 1, 2, 3]
    assert clock.times()["decode"].calls == 4
    assert clock.times()["decode"].wall_s >= 0.02


def test_threads_add_to_one_clock() -> None:
    clock = StageClock()
    timed = clock.timed("work", lambda n: n * 2)
    workers = [threading.Thread(target=lambda: [timed(i) for i in range(500)]) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert clock.times()["work"].calls == 2000


def test_reports_merge_their_stage_times() -> None:
    a = RunReport(stage_times={"decode": StageTime(1.0, 0.5, 10)})
    b = RunReport(stage_times={"decode": StageTime(2.0, 1.0, 20), "encode": StageTime(3.0, 0.1, 20)})
    a.merge(b)
    assert a.stage_times["decode"] == StageTime(3.0, 1.5, 30)
    assert a.to_dict()["stages"]["encode"]["wall_ms_per_call"] == pytest.approx(150.0)
