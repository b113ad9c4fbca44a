"""Job store, keys and audit log on a real SQLite file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from veil.errors import ConfigError
from veil.service.audit_log import AuditLog
from veil.service.db import Database
from veil.service.jobs import IdempotencyConflictError, JobState, JobStore, NewJob, Outcome, new_job_id
from veil.service.keys import ApiKeyStore, Scope, parse_scopes


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "veil.sqlite3")
    yield database
    database.close()


def _new(idempotency_key: str | None = None, content: str = "abc") -> NewJob:
    return NewJob(
        "acme", "k1", "object-mask", {}, "clip.mp4", content, 10, "video", False, None, idempotency_key
    )


def _outcome() -> Outcome:
    return Outcome("clip.anon.mp4", "f" * 64, 10, True, {"frames_written": 3}, 0.5, 3, 3)


def test_database_runs_in_wal_mode(db: Database) -> None:
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_dead_worker_job_is_retried_then_failed_with_the_reason(db: Database) -> None:
    store = JobStore(db, max_attempts=2, result_ttl_s=60)
    store.submit(_new(), new_job_id())
    claimed = store.claim(worker_pid=111, lease_s=30)
    assert claimed is not None and claimed.attempts == 1 and claimed.state is JobState.RUNNING
    assert store.claim(worker_pid=222, lease_s=30) is None  # one job, one worker
    (retried,) = store.take_back_worker(111, "worker 111 died")
    assert retried.state is JobState.QUEUED and "retrying" in (retried.error or "")
    again = store.claim(worker_pid=222, lease_s=30)
    assert again is not None and again.attempts == 2
    (failed,) = store.take_back_worker(222, "worker 222 died")
    assert failed.state is JobState.FAILED and "worker 222 died" in (failed.error or "")
    assert "gave up after 2 attempts" in (failed.error or "")


def test_a_stale_claim_cannot_publish(db: Database) -> None:
    store = JobStore(db, max_attempts=3, result_ttl_s=60)
    store.submit(_new(), new_job_id())
    stale = store.claim(111, 30)
    assert stale is not None
    store.take_back_all("server restarted")
    fresh = store.claim(222, 30)
    assert fresh is not None
    published: list[str] = []
    assert not store.complete(stale, _outcome(), lambda: published.append("stale"))
    assert not store.renew(stale, 30, 1, 3)
    assert store.complete(fresh, _outcome(), lambda: published.append("fresh"))
    assert published == ["fresh"]
    done = store.get(fresh.id)
    assert done is not None and done.state is JobState.SUCCEEDED and done.frames_done == 3


def test_expired_lease_is_taken_back(db: Database) -> None:
    store = JobStore(db, max_attempts=3, result_ttl_s=60)
    store.submit(_new(), new_job_id())
    assert store.claim(111, lease_s=-1) is not None
    (job,) = store.take_back_expired()
    assert job.state is JobState.QUEUED


def test_results_expire_after_the_ttl(db: Database) -> None:
    store = JobStore(db, max_attempts=3, result_ttl_s=0.01)
    store.submit(_new(), new_job_id())
    job = store.claim(1, 30)
    assert job is not None and store.complete(job, _outcome(), lambda: None)
    time.sleep(0.02)
    (expired,) = store.expire_due()
    assert expired.id == job.id
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.EXPIRED


def test_idempotency_is_per_tenant_and_per_request(db: Database) -> None:
    store = JobStore(db, max_attempts=3, result_ttl_s=60)
    first, created = store.submit(_new("k"), new_job_id())
    again, created_again = store.submit(_new("k"), new_job_id())
    assert created and not created_again and again.id == first.id
    with pytest.raises(IdempotencyConflictError):
        store.submit(_new("k", content="other"), new_job_id())


def test_keys_are_stored_hashed_and_verified(db: Database) -> None:
    keys = ApiKeyStore(db, bytes(32))
    created = keys.create("camera-7", parse_scopes("submit,read"), "acme")
    secret = created.token.split("_", 2)[2]
    raw = b"".join(
        bytes(str(v), "utf8") if not isinstance(v, bytes) else v
        for v in db.conn.execute("SELECT * FROM api_keys").fetchone()
    )
    assert secret.encode() not in raw and created.webhook_secret.encode() not in raw
    record = keys.verify(created.token)
    assert record is not None and record.tenant == "acme" and record.allows(Scope.SUBMIT)
    assert not record.allows(Scope.ADMIN)
    assert keys.verify(created.token[:-1] + ("A" if created.token[-1] != "A" else "B")) is None
    assert keys.verify("veil_nokey_secret") is None and keys.verify("garbage") is None
    assert keys.webhook_secret(record.key_id) == created.webhook_secret


@pytest.mark.parametrize("text", ["", "root", "submit,superuser"])
def test_unknown_scopes_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_scopes(text)


def test_audit_log_is_append_only_and_chained(db: Database) -> None:
    log = AuditLog(db)
    log.record(actor="k1", tenant="acme", action="job.submitted", target="j1")
    log.record(actor="k1", tenant="globex", action="job.deleted", target="j2")
    assert [e.action for e in log.entries("acme")] == ["job.submitted"]
    assert log.verify_chain()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute("DELETE FROM audit_log")
