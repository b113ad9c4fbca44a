"""Keep N worker processes alive; take back the jobs of any that die; expire old results."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from multiprocessing.process import BaseProcess

from veil.service.jobs import Job, JobState
from veil.service.retention import erase_after_end, sweep
from veil.service.state import ServiceState
from veil.service.worker import worker_main

__all__ = ["WorkerPool"]

_log = logging.getLogger(__name__)


class WorkerPool:
    """Start, watch and stop the worker processes of one server."""

    def __init__(
        self, state: ServiceState, log_level: int = logging.WARNING, check_every_s: float = 0.25
    ) -> None:
        self._state = state
        self._log_level = log_level
        self._check_every_s = check_every_s
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded server
        self._workers: list[BaseProcess] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="veil-pool", daemon=True)

    def start(self) -> None:
        """Requeue jobs left running by a previous server, then start the workers and the watcher."""
        taken = self._state.jobs.take_back_all("the server restarted while the job ran", self._lost_attempt)
        for job in taken:
            self._after_take_back(job)
            self._state.audit.record(
                actor="server",
                tenant=job.tenant,
                action="job.resumed" if job.state is JobState.QUEUED else "job.failed",
                target=job.id,
                outcome="ok" if job.state is JobState.QUEUED else "error",
                detail={"state": job.state.value},
            )
        self._state.blobs.clear_scratch()
        sweep(self._state.blobs, self._state.jobs)
        self._workers = [self._spawn() for _ in range(self._state.settings.workers)]
        self._thread.start()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [p.pid for p in self._workers if p.pid is not None and p.is_alive()]

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=worker_main,
            args=(self._state.settings, os.getpid(), self._log_level),
            name="veil-worker",
            daemon=True,
        )
        process.start()
        _log.info("started worker %s", process.pid)
        return process

    def _watch(self) -> None:
        ticks = 0
        while not self._stop.wait(self._check_every_s):
            for slot, process in enumerate(self._workers):
                if process.is_alive() or self._stop.is_set():
                    continue
                self.reap(
                    process.pid or -1, f"worker process {process.pid} died (exit code {process.exitcode})"
                )
                process.close()
                self._workers[slot] = self._spawn()
            ticks += 1
            if ticks % 8 == 0:
                self.housekeeping()

    def reap(self, pid: int, reason: str) -> list[Job]:
        """Take back the jobs of the dead worker ``pid``, erasing what its attempts left."""
        taken = self._state.jobs.take_back_worker(pid, reason, self._lost_attempt)
        for job in taken:
            self._after_take_back(job)
            _log.warning("job %s: %s; now %s", job.id, reason, job.state.value)
            self._state.audit.record(
                actor="server",
                tenant=job.tenant,
                action="job.retried" if job.state is JobState.QUEUED else "job.failed",
                target=job.id,
                outcome="error",
                detail={"reason": reason, "attempts": job.attempts},
            )
        return taken

    def housekeeping(self) -> None:
        """Take back jobs whose lease ran out, expire old results, erase what no live job needs."""
        for job in self._state.jobs.take_back_expired(self._lost_attempt):
            self._after_take_back(job)
            _log.warning("job %s: lease expired; now %s", job.id, job.state.value)
        for job in self._state.jobs.expire_due():
            self._state.blobs.erase(job.id)
            self._state.audit.record(actor="server", tenant=job.tenant, action="job.expired", target=job.id)
        sweep(self._state.blobs, self._state.jobs)

    def _lost_attempt(self, job: Job) -> None:
        # The attempt's plaintext goes before the job can be claimed again: nobody writes there now.
        self._state.blobs.erase_scratch(job.id)

    def _after_take_back(self, job: Job) -> None:
        if job.state is JobState.FAILED:  # out of attempts: the job has ended
            erase_after_end(self._state.blobs, job)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the watcher and the workers (their running jobs resume at the next start)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for process in self._workers:
            if process.is_alive():
                process.terminate()
        for process in self._workers:
            process.join(timeout_s)
            if process.is_alive():
                process.kill()
                process.join()
        self._workers = []
