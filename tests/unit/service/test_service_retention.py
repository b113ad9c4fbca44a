# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""Every path that ends a job erases its plaintext scratch and (unless retained) its upload."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import (  # noqa: F401 - fixtures
    Service,
    plaintext_leftovers,
    png_bytes,
    service,
    service_settings,
)

from veil.errors import VeilError
from veil.service import ServiceSettings, create_app
from veil.service import worker as worker_module
from veil.service.blobs import BlobKind
from veil.service.jobs import Job, JobState, Outcome
from veil.service.pool import WorkerPool
from veil.service.retention import sweep

DEAD_PID = 4242


def _submit(service: Service, clip: Path, **fields: str) -> str:
    with clip.open("rb") as handle:
        answer = service.client.post(
            "/v1/jobs",
            headers=service.key(),
            files={"file": (clip.name, handle, "video/mp4")},
            data={"operation": "object-mask", **fields},
        )
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def _claim_as_a_worker(service: Service, lease_s: float = 60.0) -> Job:
    """Claim the queued job and leave what a worker killed mid-run leaves: decrypted input, partial output."""
    state = service.context.state
    job = state.jobs.claim(DEAD_PID, lease_s)
    assert job is not None and job.claim_token
    attempt = state.blobs.job_scratch(job.id) / job.claim_token
    (attempt / "out").mkdir(parents=True)
    state.blobs.decrypt_to(job.id, BlobKind.UPLOAD, attempt / "input.mp4")
    shutil.copy(attempt / "input.mp4", attempt / "out" / "input.anon.mp4.partial")
    return job


def _pool(service: Service) -> WorkerPool:
    pool: WorkerPool = service.client.app.state.pool  # type: ignore[attr-defined]
    return pool


def _assert_nothing_left(service: Service, job_id: str, original: bytes) -> None:
    state = service.context.state
    assert plaintext_leftovers(state.settings.data_dir, (original,)) == []
    assert not state.blobs.exists(job_id, BlobKind.UPLOAD)
    assert not state.blobs.job_scratch(job_id).exists()


def test_a_job_whose_worker_keeps_dying_ends_with_nothing_left(service: Service, make_video) -> None:
    clip = make_video(frames=6)
    job_id = _submit(service, clip)
    state = service.context.state
    for attempt in (1, 2, 3):
        _claim_as_a_worker(service)
        (taken,) = _pool(service).reap(DEAD_PID, f"worker process {DEAD_PID} died (attempt {attempt})")
        # Between attempts the plaintext of the lost one is gone; the encrypted upload waits for the next.
        assert not state.blobs.job_scratch(job_id).exists()
        assert state.blobs.exists(job_id, BlobKind.UPLOAD) == (attempt < 3)
    assert taken.state is JobState.FAILED and "gave up after 3 attempts" in (taken.error or "")
    _assert_nothing_left(service, job_id, clip.read_bytes())


def test_a_job_whose_lease_runs_out_ends_with_nothing_left(service: Service, make_video) -> None:
    clip = make_video(frames=6)
    job_id = _submit(service, clip)
    for _ in range(3):
        _claim_as_a_worker(service, lease_s=-1.0)  # a hung worker: the lease is already over
        _pool(service).housekeeping()
    assert service.context.state.jobs.get(job_id).state is JobState.FAILED  # type: ignore[union-attr]
    _assert_nothing_left(service, job_id, clip.read_bytes())


def test_a_job_that_runs_out_of_attempts_at_restart_ends_with_nothing_left(
    service_settings: ServiceSettings, make_video
) -> None:
    settings = dataclasses.replace(service_settings, max_attempts=1)
    clip = make_video(frames=6)
    with TestClient(create_app(settings)) as client:
        first = Service(client, client.app.state.veil)  # type: ignore[attr-defined]
        job_id = _submit(first, clip)
        _claim_as_a_worker(first)
    with TestClient(create_app(settings)) as client:  # the server stopped while the job ran
        again = Service(client, client.app.state.veil)  # type: ignore[attr-defined]
        assert again.context.state.jobs.get(job_id).state is JobState.FAILED  # type: ignore[union-attr]
        _assert_nothing_left(again, job_id, clip.read_bytes())


def test_a_job_deleted_while_it_runs_leaves_nothing(service: Service, make_video) -> None:
    clip = make_video(frames=6)
    job_id = _submit(service, clip)
    _claim_as_a_worker(service)
    assert service.client.delete(f"/v1/jobs/{job_id}", headers=service.key()).status_code == 204
    _assert_nothing_left(service, job_id, clip.read_bytes())
    assert service.data_files() == []


def test_a_job_failing_in_the_worker_leaves_nothing(
    service: Service, make_video, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_after_writing(operation: object, ctx: worker_module.OperationContext) -> object:
        shutil.copy(ctx.src, ctx.out_dir / "half-done.mp4")
        raise VeilError("the decoder gave up")

    monkeypatch.setattr(worker_module, "run_operation", fail_after_writing)
    clip = make_video(frames=6)
    job_id = _submit(service, clip)
    service.run_jobs()
    assert service.context.state.jobs.get(job_id).state is JobState.FAILED  # type: ignore[union-attr]
    _assert_nothing_left(service, job_id, clip.read_bytes())


def test_a_crash_between_the_end_and_the_erasure_is_swept(service: Service, make_video) -> None:
    clip = make_video(frames=6)
    job_id = _submit(service, clip)
    job = _claim_as_a_worker(service)
    outcome = Outcome("clip.anon.mp4", "0" * 64, 1, False, {}, 0.1, 6, 6)
    assert service.context.state.jobs.complete(job, outcome, lambda: None)  # then the worker died
    assert plaintext_leftovers(service.context.state.settings.data_dir, (clip.read_bytes(),))
    _pool(service).housekeeping()
    _assert_nothing_left(service, job_id, clip.read_bytes())


def test_an_expired_retained_original_is_erased(service: Service, make_video) -> None:
    clip = make_video(frames=6)
    job_id = _submit(service, clip, retain_original="true")
    service.run_jobs()
    state = service.context.state
    assert state.blobs.exists(job_id, BlobKind.UPLOAD)
    state.db.conn.execute("UPDATE jobs SET expires_at = 0 WHERE id = ?", (job_id,))
    _pool(service).housekeeping()
    assert state.jobs.get(job_id).state is JobState.EXPIRED  # type: ignore[union-attr]
    assert service.data_files() == []


def test_sweep_keeps_what_live_jobs_need_and_young_orphans(service: Service, make_video) -> None:
    state = service.context.state
    queued = _submit(service, make_video(frames=6))
    orphan_young = state.blobs.path("ab" * 12, BlobKind.UPLOAD)
    orphan_old = state.blobs.path("cd" * 12, BlobKind.RESULT)
    for path in (orphan_young, orphan_old):
        path.write_bytes(b"sealed")
    os.utime(orphan_old, (time.time() - 3600, time.time() - 3600))
    request_dir = state.blobs.scratch("")  # a synchronous image request in flight
    assert sweep(state.blobs, state.jobs) == 1
    assert state.blobs.exists(queued, BlobKind.UPLOAD) and orphan_young.exists() and request_dir.exists()
    assert not orphan_old.exists()
