from __future__ import annotations

from collections.abc import Iterator

import pytest

from veil.pipeline.stages import BackgroundIterator, BackgroundSink


def test_iterator_yields_everything_in_order() -> None:
    assert list(BackgroundIterator(range(50), depth=2)) == list(range(50))


def test_iterator_reraises_source_error_after_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise RuntimeError("decode failed")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="decode failed"):
        seen.extend(BackgroundIterator(source()))
    assert seen == [1]


def test_iterator_close_stops_a_long_source() -> None:
    it = BackgroundIterator(iter(range(10**9)), depth=2)
    first = next(iter(it))
    it.close()
    assert first == 0


def test_sink_consumes_all_then_close_returns() -> None:
    got: list[int] = []
    sink: BackgroundSink[int] = BackgroundSink(got.append, depth=2)
    for i in range(20):
        sink.put(i)
    sink.close()
    assert got == list(range(20))


def test_sink_error_surfaces_on_close() -> None:
    def consume(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    sink: BackgroundSink[int] = BackgroundSink(consume, depth=2)
    with pytest.raises(OSError, match="disk full"):
        for i in range(10):
            sink.put(i)
        sink.close()
