"""A worker process: claim a job, decrypt its input, run the operation, verify and publish the result."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from veil.api import Pipeline, PipelineConfig
from veil.errors import VeilError
from veil.service.blobs import BlobKind
from veil.service.crypto import BlobCorruptError
from veil.service.jobs import Job, Outcome
from veil.service.media_check import RejectedMediaError, media_suffix, scan_video
from veil.service.operations import (
    Operation,
    OperationContext,
    OperationUnavailableError,
    extra_options,
    run_operation,
)
from veil.service.options import build_config
from veil.service.redaction import PathRedactor
from veil.service.settings import ServiceSettings
from veil.service.state import ServiceState

__all__ = ["JobCancelledError", "Worker", "load_factory", "worker_main"]

_log = logging.getLogger(__name__)


class JobCancelledError(Exception):
    """The job was deleted, taken back, or the server went away while it ran."""


def load_factory(spec: str) -> Callable[[PipelineConfig], Pipeline]:
    """Import the ``"module:callable"`` that builds a Pipeline from a PipelineConfig."""
    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    if not callable(factory):
        raise TypeError(f"{spec} is not callable")
    return factory  # type: ignore[no-any-return]


class _PipelineCache:
    """Keep the last two pipelines, so models load once per configuration and worker."""

    def __init__(self, factory: Callable[[PipelineConfig], Pipeline]) -> None:
        self._factory = factory
        self._cache: OrderedDict[str, Pipeline] = OrderedDict()

    def get(self, config: PipelineConfig) -> Pipeline:
        key = repr(config)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        pipeline = self._factory(config)
        self._cache[key] = pipeline
        while len(self._cache) > 2:
            self._cache.popitem(last=False)[1].close()
        return pipeline


class _Heartbeat:
    """Renew the job's lease and record progress from a thread; notice deletion and a dead server."""

    def __init__(self, state: ServiceState, job: Job, parent_pid: int) -> None:
        self._state = state
        self._job = job
        self._parent_pid = parent_pid
        self.frames_done = 0
        self.frames_total: int | None = None
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = min(1.0, self._state.settings.lease_s / 4)
        while not self._stop.wait(interval):
            alive = os.getppid() == self._parent_pid
            if not alive or not self._state.jobs.renew(
                self._job, self._state.settings.lease_s, self.frames_done, self.frames_total
            ):
                self.cancelled.set()
                return

    # Progress protocol, called by the runner on the worker's main thread.
    def start(self, label: str, total: int | None) -> None:
        """Record the frame count."""
        self.frames_total = total
        self.frames_done = 0

    def advance(self, frames: int = 1) -> None:
        """Count frames; stop the run if the job was cancelled."""
        self.frames_done += frames
        self.check_cancelled()

    def check_cancelled(self, *_: object) -> None:
        """Raise JobCancelledError if the job was deleted or taken back."""
        if self.cancelled.is_set():
            raise JobCancelledError(self._job.id)


class Worker:
    """Run jobs from the store until the parent process goes away or ``stop`` is set."""

    def __init__(self, state: ServiceState, parent_pid: int) -> None:
        self._state = state
        self._parent_pid = parent_pid
        self._pipelines = _PipelineCache(load_factory(state.settings.pipeline_factory))
        self._redactor = PathRedactor([state.settings.data_dir])
        self.stop = threading.Event()

    def run_forever(self) -> None:
        """Poll for jobs and run them one at a time."""
        while not self.stop.is_set() and os.getppid() == self._parent_pid:
            if not self.run_one():
                self.stop.wait(self._state.settings.poll_interval_s)

    def run_one(self) -> bool:
        """Claim and run one job; return whether there was one."""
        job = self._state.jobs.claim(os.getpid(), self._state.settings.lease_s)
        if job is None:
            return False
        _log.info("job %s: attempt %d (%s)", job.id, job.attempts, job.operation)
        # One folder per attempt inside the job's: a stale attempt cleaning up never removes a newer one's.
        job_dir = self._state.blobs.job_scratch(job.id)
        job_dir.mkdir(mode=0o700, exist_ok=True)
        scratch = job_dir / (job.claim_token or "attempt")
        scratch.mkdir(mode=0o700)
        try:
            self._execute(job, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            with contextlib.suppress(OSError):  # another attempt's folder may be in it
                job_dir.rmdir()
        return True

    def _execute(self, job: Job, scratch: Path) -> None:
        state = self._state
        try:
            src = scratch / f"input{media_suffix(job.input_name, job.media_kind)}"
            if state.blobs.decrypt_to(job.id, BlobKind.UPLOAD, src) != job.input_sha256:
                raise BlobCorruptError(f"job {job.id}: the stored upload does not match its checksum")
            out_dir = scratch / "out"
            out_dir.mkdir()
            operation = Operation(job.operation)
            limits = state.settings.limits
            # The reader then checks every frame it decodes against the limits' area as well.
            max_pixels = limits.max_width_px * limits.max_height_px
            config = build_config(
                job.options,
                max_pixels=max_pixels,
                extra=extra_options(operation),
                obfuscator=state.settings.obfuscator,
            )
            started = time.perf_counter()
            with _Heartbeat(state, job, self._parent_pid) as heartbeat:
                if job.media_kind == "video":
                    scan_video(src, limits, heartbeat.check_cancelled)
                result = run_operation(
                    operation,
                    OperationContext(src, out_dir, config, heartbeat, self._pipelines.get, job.options),
                )
            run_s = time.perf_counter() - started
            frames = (heartbeat.frames_done, heartbeat.frames_total)
            self._publish(job, result.result, result.detections, result.report, run_s, frames)
        except JobCancelledError:
            _log.info("job %s: cancelled or taken back while running", job.id)
            return
        except RejectedMediaError as exc:
            self._finish_failed(job, f"the upload was refused while decoding: {exc.message}")
        except (VeilError, OperationUnavailableError) as exc:
            self._finish_failed(job, str(exc))
        except Exception as exc:
            _log.exception("job %s: unexpected error", job.id)
            self._finish_failed(job, f"internal error: {type(exc).__name__}: {exc}")

    def _publish(
        self,
        job: Job,
        result: Path,
        detections: Path | None,
        report: dict[str, object],
        run_s: float,
        frames: tuple[int, int | None],
    ) -> None:
        blobs = self._state.blobs
        if not result.is_file() or result.stat().st_size == 0:
            raise VeilError(f"the {job.operation} operation wrote no result")
        staged: list[tuple[Path, Path]] = []
        try:
            kinds = [(BlobKind.RESULT, result)] + ([(BlobKind.DETECTIONS, detections)] if detections else [])
            digests: dict[BlobKind, str] = {}
            for kind, plain in kinds:
                final = blobs.path(job.id, kind)
                tmp = final.with_name(final.name + ".staged")
                digests[kind] = blobs.put(job.id, kind, plain, dst=tmp)
                # Verified: the sealed blob decrypts to exactly what the operation wrote.
                if blobs.digest(job.id, kind, tmp) != digests[kind] or digests[kind] != _file_digest(plain):
                    raise VeilError(f"job {job.id}: the encrypted {kind.value} failed verification")
                staged.append((tmp, final))

            def publish() -> None:
                for tmp, final in staged:
                    tmp.replace(final)

            outcome = Outcome(
                result_name=_result_name(job, result),
                result_sha256=digests[BlobKind.RESULT],
                result_bytes=result.stat().st_size,
                has_detections=detections is not None,
                report=self._redactor.value({"operation": job.operation, **report}),
                run_s=run_s,
                frames_done=frames[0],
                frames_total=frames[1],
            )
            if not self._state.jobs.complete(job, outcome, publish):
                _log.info("job %s: deleted or taken back before it could be published", job.id)
                return
        finally:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
        self._after_final(job, "succeeded")

    def _finish_failed(self, job: Job, error: str) -> None:
        error = self._redactor.text(error)
        if self._state.jobs.fail(job, error):
            self._after_final(job, "failed", error)

    def _after_final(self, job: Job, outcome: str, error: str | None = None) -> None:
        if not job.retain_original:
            self._state.blobs.erase(job.id, BlobKind.UPLOAD)  # the scratch folder goes in run_one
        self._state.audit.record(
            actor=f"worker:{os.getpid()}",
            tenant=job.tenant,
            action=f"job.{outcome}",
            target=job.id,
            outcome="ok" if error is None else "error",
            detail={"attempt": job.attempts, **({"error": error} if error else {})},
        )
        # Only queued here: the server's dispatcher sends it, so a slow receiver holds up no job.
        if self._state.webhooks.enqueue(job, outcome, error) is not None:
            _log.info("job %s: webhook queued", job.id)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _result_name(job: Job, result: Path) -> str:
    stem = Path(job.input_name).stem or "upload"
    return f"{stem}{result.name.removeprefix('input')}"


def worker_main(settings: ServiceSettings, parent_pid: int, log_level: int = logging.WARNING) -> None:
    """Entry point of a worker process (spawned by the pool)."""
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s[%(process)d]: %(message)s")
    state = ServiceState.open(settings)
    try:
        Worker(state, parent_pid).run_forever()
    finally:
        state.close()
