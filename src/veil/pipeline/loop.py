"""The one stage loop: source → engine → sink, the sink optionally on a writer thread.

Every pipeline that turns a stream of frames into output runs here, each with its own three parts:
files (a reader thread and a detector thread ahead as the source, the temporal engine, anonymize and
encode on the writer thread), live streams (the latency mailbox as the source, the forward-only
engine that also anonymizes, the network or file sink), removal (the reader, the mask source and
background filler, the encoder) and the Python frame API (:func:`stage_outputs`, no threads). A new
kind of engine, such as a whole-frame method that needs no detector, is one more :class:`Engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from veil.pipeline.stages import BackgroundSink

__all__ = ["Engine", "run_stages", "stage_outputs"]

In = TypeVar("In")
Out = TypeVar("Out")
In_contra = TypeVar("In_contra", contravariant=True)
Out_co = TypeVar("Out_co", covariant=True)


class Engine(Protocol[In_contra, Out_co]):
    """The middle of the loop: takes items in order and returns those now ready, oldest first.

    An engine may hold items back (a lookahead) and must return every one of them by :meth:`flush`.
    """

    def push(self, item: In_contra) -> Iterable[Out_co]:
        """Take the next item; return the outputs now ready."""
        ...

    def flush(self) -> Iterable[Out_co]:
        """Return every output still held back (the source ended)."""
        ...


def stage_outputs(source: Iterable[In], engine: Engine[In, Out]) -> Iterator[Out]:
    """Yield the engine's outputs for ``source``, in order, the held-back ones at the end."""
    for item in source:
        yield from engine.push(item)
    yield from engine.flush()


def run_stages(
    source: Iterable[In],
    engine: Engine[In, Out],
    sink: Callable[[Out], None],
    *,
    writer_thread: str | None = None,
    writer_depth: int = 8,
) -> None:
    """Run ``source`` through ``engine`` into ``sink`` until the source ends.

    With ``writer_thread`` (a thread name) the sink runs on its own thread behind a queue of
    ``writer_depth`` outputs, so encoding overlaps the engine; its first error re-raises here. On
    every way out the sink thread finishes the outputs queued before it returns.
    """
    if writer_thread is None:
        for out in stage_outputs(source, engine):
            sink(out)
        return
    writer: BackgroundSink[Out] = BackgroundSink(sink, depth=writer_depth, name=writer_thread)
    try:
        for out in stage_outputs(source, engine):
            writer.put(out)
    finally:
        writer.close()
