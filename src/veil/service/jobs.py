"""The job store: jobs in SQLite, claimed by workers under a lease, retried when a worker dies."""

from __future__ import annotations

import enum
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from veil.service.db import Database

__all__ = ["IdempotencyConflictError", "Job", "JobState", "JobStore", "NewJob", "Outcome", "new_job_id"]


# SQLite limits the parameters of one statement; larger id lists are asked for in chunks.
_IDS_PER_QUERY = 500


def new_job_id() -> str:
    """Return a fresh, unguessable job id."""
    return secrets.token_hex(12)


class JobState(enum.Enum):
    """Where a job is in its life; only ``succeeded`` jobs have a result."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


@dataclass(frozen=True)
class NewJob:
    """What a submission asks for, after its upload was checked."""

    tenant: str
    key_id: str
    operation: str
    options: dict[str, str]
    input_name: str
    input_sha256: str
    input_bytes: int
    media_kind: str
    retain_original: bool
    webhook_url: str | None
    idempotency_key: str | None

    def request_hash(self) -> str:
        """Return what identifies the request for idempotency: operation, options and content."""
        return json.dumps([self.operation, sorted(self.options.items()), self.input_sha256, self.webhook_url])


@dataclass(frozen=True)
class Job:
    """A job as stored."""

    id: str
    tenant: str
    key_id: str
    operation: str
    options: dict[str, str]
    state: JobState
    input_name: str
    input_sha256: str
    input_bytes: int
    media_kind: str
    retain_original: bool
    webhook_url: str | None
    frames_done: int
    frames_total: int | None
    attempts: int
    max_attempts: int
    error: str | None
    worker_pid: int | None
    claim_token: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    expires_at: float | None
    run_s: float | None
    result_name: str | None
    result_sha256: str | None
    result_bytes: int | None
    has_detections: bool
    report: dict[str, Any] | None

    @property
    def progress(self) -> float:
        """Share of frames done in [0, 1] (1 once succeeded)."""
        if self.state is JobState.SUCCEEDED:
            return 1.0
        if not self.frames_total:
            return 0.0
        return min(1.0, self.frames_done / self.frames_total)


@dataclass(frozen=True)
class Outcome:
    """What a worker produced for a job."""

    result_name: str
    result_sha256: str
    result_bytes: int
    has_detections: bool
    report: dict[str, Any]
    run_s: float
    frames_done: int
    frames_total: int | None


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        tenant=row["tenant"],
        key_id=row["key_id"],
        operation=row["operation"],
        options=json.loads(row["options"]),
        state=JobState(row["state"]),
        input_name=row["input_name"],
        input_sha256=row["input_sha256"],
        input_bytes=row["input_bytes"],
        media_kind=row["media_kind"],
        retain_original=bool(row["retain_original"]),
        webhook_url=row["webhook_url"],
        frames_done=row["frames_done"],
        frames_total=row["frames_total"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        error=row["error"],
        worker_pid=row["worker_pid"],
        claim_token=row["claim_token"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        expires_at=row["expires_at"],
        run_s=row["run_s"],
        result_name=row["result_name"],
        result_sha256=row["result_sha256"],
        result_bytes=row["result_bytes"],
        has_detections=bool(row["has_detections"]),
        report=json.loads(row["report"]) if row["report"] else None,
    )


class IdempotencyConflictError(Exception):
    """An idempotency key was reused for a different request."""


class JobStore:
    """Every state change of a job is one SQLite transaction; workers act only under their claim token."""

    def __init__(self, db: Database, max_attempts: int, result_ttl_s: float) -> None:
        self._db = db
        self._max_attempts = max_attempts
        self._ttl_s = result_ttl_s

    # --- API side ---------------------------------------------------------------------------------------

    def submit(self, new: NewJob, job_id: str) -> tuple[Job, bool]:
        """Queue ``new`` as ``job_id``: (job, True), or (earlier job, False) for a reused idempotency key.

        Store the job's upload under ``job_id`` first: a job is never visible without its input.

        Raises:
            IdempotencyConflictError: the idempotency key was used for a different request.
        """
        request_hash = new.request_hash()
        with self._db.transaction() as conn:
            if new.idempotency_key is not None:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE tenant = ? AND idempotency_key = ?",
                    (new.tenant, new.idempotency_key),
                ).fetchone()
                if row is not None:
                    if row["request_hash"] != request_hash:
                        raise IdempotencyConflictError(new.idempotency_key)
                    return _job(row), False
            conn.execute(
                "INSERT INTO jobs (id, tenant, key_id, operation, options, state, input_name, input_sha256,"
                " input_bytes, media_kind, retain_original, webhook_url, idempotency_key, request_hash,"
                " max_attempts, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    new.tenant,
                    new.key_id,
                    new.operation,
                    json.dumps(new.options),
                    new.input_name,
                    new.input_sha256,
                    new.input_bytes,
                    new.media_kind,
                    int(new.retain_original),
                    new.webhook_url,
                    new.idempotency_key,
                    request_hash,
                    self._max_attempts,
                    time.time(),
                ),
            )
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row), True

    def get(self, job_id: str, tenant: str | None = None) -> Job | None:
        """Return the job, or None if it does not exist or belongs to another tenant."""
        row = self._db.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (tenant is not None and row["tenant"] != tenant):
            return None
        return _job(row)

    def recent(self, tenant: str, limit: int = 50) -> list[Job]:
        """Return ``tenant``'s latest jobs, newest first."""
        rows = self._db.conn.execute(
            "SELECT * FROM jobs WHERE tenant = ? ORDER BY created_at DESC LIMIT ?", (tenant, limit)
        ).fetchall()
        return [_job(r) for r in rows]

    def delete(self, job_id: str, tenant: str) -> Job | None:
        """Remove the job's row (a running worker notices and stops); return what was removed."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ? AND tenant = ?", (job_id, tenant)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return _job(row)

    def counts(self) -> dict[str, int]:
        """Return the number of jobs in each state."""
        rows = self._db.conn.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall()
        return {r["state"]: r["n"] for r in rows}

    # --- worker side ------------------------------------------------------------------------------------

    def claim(self, worker_pid: int, lease_s: float) -> Job | None:
        """Take the oldest queued job for ``worker_pid``, or return None when none waits."""
        token = secrets.token_hex(8)
        now = time.time()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET state = 'running', claim_token = ?, worker_pid = ?, attempts = attempts + 1,"
                " started_at = ?, lease_until = ?, frames_done = 0 WHERE id = ?",
                (token, worker_pid, now, now + lease_s, row["id"]),
            )
            claimed = conn.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return _job(claimed)

    def renew(self, job: Job, lease_s: float, frames_done: int, frames_total: int | None) -> bool:
        """Extend the lease and record progress; False when the job was deleted or taken back."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET lease_until = ?, frames_done = ?, frames_total = ?"
                " WHERE id = ? AND claim_token = ? AND state = 'running'",
                (time.time() + lease_s, frames_done, frames_total, job.id, job.claim_token),
            )
        return cur.rowcount == 1

    def complete(self, job: Job, outcome: Outcome, publish: Callable[[], None]) -> bool:
        """Mark ``job`` succeeded after ``publish()`` moved its verified result in place, atomically.

        Returns False (and does not publish) when the job was deleted or taken back meanwhile.
        """
        now = time.time()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM jobs WHERE id = ? AND claim_token = ? AND state = 'running'",
                (job.id, job.claim_token),
            ).fetchone()
            if row is None:
                return False
            publish()
            conn.execute(
                "UPDATE jobs SET state = 'succeeded', finished_at = ?, expires_at = ?, run_s = ?,"
                " result_name = ?, result_sha256 = ?, result_bytes = ?, has_detections = ?, report = ?,"
                " frames_done = ?, frames_total = ?, error = NULL, lease_until = NULL"
                " WHERE id = ?",
                (
                    now,
                    now + self._ttl_s,
                    outcome.run_s,
                    outcome.result_name,
                    outcome.result_sha256,
                    outcome.result_bytes,
                    int(outcome.has_detections),
                    json.dumps(outcome.report),
                    outcome.frames_done,
                    outcome.frames_total,
                    job.id,
                ),
            )
        return True

    def fail(self, job: Job, error: str) -> bool:
        """Mark ``job`` failed for good with ``error`` (the input was unusable or the operation failed)."""
        now = time.time()
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, expires_at = ?,"
                " lease_until = NULL WHERE id = ? AND claim_token = ? AND state = 'running'",
                (error, now, now + self._ttl_s, job.id, job.claim_token),
            )
        return cur.rowcount == 1

    # --- supervisor side --------------------------------------------------------------------------------

    def take_back(
        self,
        where: str,
        args: tuple[Any, ...],
        reason: str,
        before: Callable[[Job], None] | None = None,
    ) -> list[Job]:
        """Requeue running jobs matching ``where`` (fail those out of attempts); return them as now stored.

        ``before(job)`` runs for each job while the write lock is held and before the job changes, so no
        other worker can claim it yet: the place to erase what the lost attempt left.
        """
        now = time.time()
        with self._db.transaction() as conn:
            rows = conn.execute(f"SELECT * FROM jobs WHERE state = 'running' AND {where}", args).fetchall()
            for row in rows:
                if before is not None:
                    before(_job(row))
                if row["attempts"] >= row["max_attempts"]:
                    conn.execute(
                        "UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, expires_at = ?,"
                        " claim_token = NULL, lease_until = NULL WHERE id = ?",
                        (
                            f"{reason}; gave up after {row['attempts']} attempts",
                            now,
                            now + self._ttl_s,
                            row["id"],
                        ),
                    )
                else:
                    conn.execute(
                        "UPDATE jobs SET state = 'queued', error = ?, claim_token = NULL, worker_pid = NULL,"
                        " lease_until = NULL, frames_done = 0 WHERE id = ?",
                        (
                            f"{reason}; retrying (attempt {row['attempts']} of {row['max_attempts']})",
                            row["id"],
                        ),
                    )
            ids = [r["id"] for r in rows]
            changed = [conn.execute("SELECT * FROM jobs WHERE id = ?", (i,)).fetchone() for i in ids]
        return [_job(r) for r in changed]

    def take_back_worker(
        self, worker_pid: int, reason: str, before: Callable[[Job], None] | None = None
    ) -> list[Job]:
        """Take back the jobs of a worker process that died."""
        return self.take_back("worker_pid = ?", (worker_pid,), reason, before)

    def take_back_expired(self, before: Callable[[Job], None] | None = None) -> list[Job]:
        """Take back running jobs whose lease ran out (a hung worker, or one of a previous server)."""
        return self.take_back(
            "lease_until < ?", (time.time(),), "the worker stopped renewing its lease", before
        )

    def take_back_all(self, reason: str, before: Callable[[Job], None] | None = None) -> list[Job]:
        """Take back every running job (at start-up: no worker of ours holds any)."""
        return self.take_back("1 = 1", (), reason, before)

    def holdings(self, job_ids: Iterable[str]) -> dict[str, tuple[JobState, bool]]:
        """Return (state, retain_original) of those of ``job_ids`` that exist."""
        found: dict[str, tuple[JobState, bool]] = {}
        ids = list(dict.fromkeys(job_ids))
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            rows = self._db.conn.execute(
                f"SELECT id, state, retain_original FROM jobs WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            found |= {r["id"]: (JobState(r["state"]), bool(r["retain_original"])) for r in rows}
        return found

    def expire_due(self) -> list[Job]:
        """Mark finished jobs past their TTL expired and return them (their blobs are then erased)."""
        now = time.time()
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state IN ('succeeded', 'failed') AND expires_at < ?", (now,)
            ).fetchall()
            conn.execute(
                "UPDATE jobs SET state = 'expired', report = report WHERE state IN ('succeeded', 'failed')"
                " AND expires_at < ?",
                (now,),
            )
        return [_job(r) for r in rows]
