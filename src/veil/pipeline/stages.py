"""Reader and writer threads joined to the processing stage by bounded queues.

Decoding and encoding release the GIL in FFmpeg, and ONNX Runtime releases it during inference, so the
three stages overlap on separate cores; bounded queues keep memory flat however long the video is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["BackgroundIterator", "BackgroundSink"]

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class BackgroundIterator(Generic[T]):
    """Iterate ``source`` on a thread, ``depth`` items ahead; its exceptions re-raise in the consumer."""

    def __init__(self, source: Iterable[T], depth: int = 8, name: str = "veil-reader") -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterable[T]) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, who decides
            self._put(_Failure(exc))
            return
        self._put(_DONE)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the thread early (the consumer gave up) and wait for it."""
        self._stop.set()
        self._thread.join(timeout=10)


class BackgroundSink(Generic[T]):
    """Hand items to ``consume`` on a thread; its first exception re-raises on the next put or close."""

    def __init__(self, consume: Callable[[T], None], depth: int = 8, name: str = "veil-writer") -> None:
        self._consume = consume
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None:
                continue  # drain so put() never blocks forever after a failure
            try:
                self._consume(item)  # type: ignore[arg-type]
            except BaseException as exc:
                self._error = exc

    def put(self, item: T) -> None:
        """Queue ``item``; raise the writer's error if it already failed."""
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def close(self) -> None:
        """Wait until every queued item is consumed; raise the writer's error if any."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
