"""Where batch units run: in this process, in local worker processes, or as Ray tasks on actors.

Every engine runs :meth:`BatchWorker.run` on each unit, on workers that keep their models loaded, and
yields the results as they complete; the driver alone writes the manifest and joins segments.
"""

from __future__ import annotations

import enum
import logging
import multiprocessing
import socket
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from types import TracebackType
from typing import Any, Protocol, Self

from veil.anonymizers.base import Anonymizer
from veil.batch.work import BatchWorker, Unit, UnitResult
from veil.detection.base import Detector
from veil.errors import ConfigError, MissingExtraError
from veil.pipeline.config import PipelineConfig

__all__ = ["BatchEngine", "LocalEngine", "RayEngine", "UnitEngine", "open_engine"]

_log = logging.getLogger(__name__)

# How long an --address gets to answer before the run stops: a cluster that is up answers at once.
_CONNECT_TIMEOUT_S = 5.0


class BatchEngine(enum.Enum):
    """Which engine runs a batch's units."""

    LOCAL = "local"
    RAY = "ray"


class UnitEngine(Protocol):
    """Runs units on workers and yields their results as they complete."""

    def run(self, units: Sequence[Unit]) -> Iterator[UnitResult]:
        """Run every unit; yield each one's result once, in the order they finish."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


class LocalEngine:
    """Run units in this process (one worker) or in ``workers`` processes, each with its models loaded."""

    def __init__(
        self,
        config: PipelineConfig,
        workers: int,
        detector: Detector | None = None,
        anonymizer: Anonymizer | None = None,
    ) -> None:
        self._worker: BatchWorker | None = None
        self._pool: ProcessPoolExecutor | None = None
        if workers <= 1:
            self._worker = BatchWorker(config, detector=detector, anonymizer=anonymizer)
        else:
            # Spawned, not forked: the driver may already run threads (a progress bar, a decoder).
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_process_worker,
                initargs=(config, detector, anonymizer),
            )

    def run(self, units: Sequence[Unit]) -> Iterator[UnitResult]:
        """Run ``units``; in one process each in turn, else on the pool as workers free up."""
        if self._worker is not None:
            for unit in units:
                yield self._worker.run(unit)
            return
        assert self._pool is not None
        futures: list[Future[UnitResult]] = [self._pool.submit(_run_in_process, u) for u in units]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Stop the worker processes (waiting for none of the queued units)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# The one worker of a pool process: ProcessPoolExecutor hands tasks to plain functions, so the
# loaded models live in the process, built once by its initializer.
_PROCESS_WORKER: BatchWorker | None = None


def _start_process_worker(
    config: PipelineConfig, detector: Detector | None, anonymizer: Anonymizer | None
) -> None:
    global _PROCESS_WORKER
    _PROCESS_WORKER = BatchWorker(config, detector=detector, anonymizer=anonymizer)


def _run_in_process(unit: Unit) -> UnitResult:
    assert _PROCESS_WORKER is not None
    return _PROCESS_WORKER.run(unit)


class RayEngine:
    """Run units as Ray tasks on ``workers`` actors, each keeping a :class:`BatchWorker` loaded.

    With no ``address`` a Ray instance with ``workers`` CPUs is started here and stopped by
    :meth:`close`; with one, the cluster there is joined (its head must answer within seconds). A task
    whose actor dies is retried on the restarted actor.
    """

    def __init__(
        self,
        config: PipelineConfig,
        workers: int,
        address: str | None = None,
        detector: Detector | None = None,
        anonymizer: Anonymizer | None = None,
    ) -> None:
        try:
            import ray
        except ModuleNotFoundError as exc:
            raise MissingExtraError("--engine ray needs Ray: pip install 'veil[ray]'", extra="ray") from exc
        self._ray = ray
        if address is not None:
            _check_reachable(address)
        if ray.is_initialized():
            self._started = False
        else:
            started = time.perf_counter()
            if address is None:
                # "local": a new instance of our own, even where `ray start` left a cluster (or the
                # file naming one) on this machine, which a bare init would join instead.
                ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                try:
                    ray.init(address=address, log_to_driver=False)
                except (ConnectionError, RuntimeError) as exc:
                    # Something answers there, but it is no Ray head this Ray can join (another
                    # service, another Ray version, a head that refused this client's token).
                    raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}") from exc
            self._started = True
            _log.info("Ray ready in %.1f s", time.perf_counter() - started)
        actor = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)(BatchWorker)
        self._actors: list[Any] = [
            actor.remote(config, detector=detector, anonymizer=anonymizer) for _ in range(max(1, workers))
        ]

    def run(self, units: Sequence[Unit]) -> Iterator[UnitResult]:
        """Hand the units to the actors, one queue each, and yield the results as they land."""
        ray = self._ray
        pending: dict[Any, Unit] = {}
        for i, unit in enumerate(units):
            ref = self._actors[i % len(self._actors)].run.remote(unit)
            pending[ref] = unit
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                result: UnitResult = ray.get(ref)
                yield result

    def close(self) -> None:
        """Stop the actors, and Ray itself when this engine started it."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self._started:
            self._ray.shutdown()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _check_reachable(address: str) -> None:
    """Raise ConfigError unless something listens at ``address`` (``host:port`` or ``ray://host:port``)."""
    if address == "auto":
        return
    where = address.removeprefix("ray://")
    host, _, port_text = where.rpartition(":")
    if not host or not port_text.isdigit():
        raise ConfigError(f"--address {address!r}: give HOST:PORT of the Ray head, e.g. 127.0.0.1:6379")
    try:
        with socket.create_connection((host, int(port_text)), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); is `ray start --head` "
            "running there?"
        ) from exc


def open_engine(
    engine: BatchEngine,
    config: PipelineConfig,
    workers: int,
    address: str | None,
    detector: Detector | None = None,
    anonymizer: Anonymizer | None = None,
) -> UnitEngine:
    """Return the engine named by ``engine``; ``address`` applies to Ray only."""
    if engine is BatchEngine.RAY:
        return RayEngine(config, workers, address, detector, anonymizer)
    if address is not None:
        raise ConfigError("--address names a Ray cluster: use it with --engine ray")
    return LocalEngine(config, workers, detector, anonymizer)
