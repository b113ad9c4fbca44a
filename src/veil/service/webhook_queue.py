"""Webhook deliveries: queued in SQLite when a job ends, sent by the server's own dispatcher threads.

A worker only records the event (one row per job and end state), so a slow or dead receiver never
holds up a job queue. The dispatcher sends due deliveries a few at a time, one at a time per receiving
host, with bounded retries and backoff; every attempt at one event carries the same idempotency key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from veil.service.db import Database
from veil.service.jobs import Job
from veil.service.webhooks import Attempt, post_once

__all__ = ["Delivery", "WebhookDispatcher", "WebhookQueue"]

_log = logging.getLogger(__name__)

# Seconds before each retry; the delivery fails for good once they are used up.
_BACKOFF_S = (1.0, 4.0, 15.0, 60.0)
# A delivery claimed by a dispatcher that died is sent again after this long.
_SENDING_LEASE_S = 120.0
# Finished deliveries are kept this long for inspection, then pruned.
_KEEP_FINISHED_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Delivery:
    """One event to deliver to one URL."""

    id: str
    job_id: str
    key_id: str
    url: str
    body: bytes
    attempts: int
    state: str
    last_error: str | None

    @property
    def host(self) -> str:
        """The receiving host (deliveries to one host go one at a time)."""
        return urlsplit(self.url).hostname or ""


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        job_id=row["job_id"],
        key_id=row["key_id"],
        url=row["url"],
        body=bytes(row["body"]),
        attempts=row["attempts"],
        state=row["state"],
        last_error=row["last_error"],
    )


class WebhookQueue:
    """The deliveries table: enqueue at a job's end, claim when due, record each attempt."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def enqueue(self, job: Job, state: str, error: str | None) -> Delivery | None:
        """Queue the webhook of ``job`` ending in ``state``; None when it has no webhook or one is queued."""
        if not job.webhook_url:
            return None
        payload = {"job_id": job.id, "state": state, "error": error, "operation": job.operation}
        body = json.dumps(payload, sort_keys=True).encode()
        now = self._clock()
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (id, job_id, event, tenant, key_id, url, body,"
                " state, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (
                    f"whd_{secrets.token_hex(12)}",
                    job.id,
                    state,
                    job.tenant,
                    job.key_id,
                    job.webhook_url,
                    body,
                    now,
                    now,
                ),
            )
            if cur.rowcount != 1:
                return None
            row = conn.execute(
                "SELECT * FROM webhook_deliveries WHERE job_id = ? AND event = ?", (job.id, state)
            ).fetchone()
        return _delivery(row)

    def claim_due(self, limit: int, busy_hosts: set[str]) -> list[Delivery]:
        """Mark up to ``limit`` due deliveries as being sent, skipping hosts in ``busy_hosts``."""
        now = self._clock()
        claimed: list[Delivery] = []
        hosts = set(busy_hosts)
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM webhook_deliveries WHERE (state = 'pending' AND next_at <= ?)"
                " OR (state = 'sending' AND next_at <= ?) ORDER BY next_at LIMIT ?",
                (now, now, max(limit * 8, 32)),
            ).fetchall()
            for row in rows:
                delivery = _delivery(row)
                if len(claimed) >= limit or delivery.host in hosts:
                    continue
                hosts.add(delivery.host)
                conn.execute(
                    "UPDATE webhook_deliveries SET state = 'sending', next_at = ? WHERE id = ?",
                    (now + _SENDING_LEASE_S, delivery.id),
                )
                claimed.append(delivery)
        return claimed

    def record(self, delivery: Delivery, attempt: Attempt) -> str:
        """Record how an attempt went; return the delivery's state now (delivered, pending or failed)."""
        now = self._clock()
        attempts = delivery.attempts + 1
        if attempt.delivered:
            state, next_at = "delivered", now
        elif attempt.retry and attempts <= len(_BACKOFF_S):
            state, next_at = "pending", now + _BACKOFF_S[attempts - 1]
        else:
            state, next_at = "failed", now
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_at = ?, last_error = ?,"
                " finished_at = ? WHERE id = ?",
                (
                    state,
                    attempts,
                    next_at,
                    None if attempt.delivered else attempt.detail[:500],
                    now if state != "pending" else None,
                    delivery.id,
                ),
            )
        return state

    def get(self, delivery_id: str) -> Delivery | None:
        """Return the delivery, or None."""
        row = self._db.conn.execute(
            "SELECT * FROM webhook_deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
        return None if row is None else _delivery(row)

    def of_job(self, job_id: str) -> list[Delivery]:
        """Return the job's deliveries."""
        rows = self._db.conn.execute(
            "SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at", (job_id,)
        ).fetchall()
        return [_delivery(r) for r in rows]

    def release_sending(self) -> None:
        """Make deliveries left 'sending' by a previous server due again (at start-up)."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE webhook_deliveries SET state = 'pending', next_at = ? WHERE state = 'sending'",
                (self._clock(),),
            )

    def prune(self) -> None:
        """Remove deliveries that finished long ago."""
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND finished_at < ?",
                (self._clock() - _KEEP_FINISHED_S,),
            )


PostOnce = Callable[..., Attempt]


class WebhookDispatcher:
    """Send due deliveries from threads of the server process, a few at once, one per host."""

    def __init__(
        self,
        queue: WebhookQueue,
        secret_of: Callable[[str], str | None],
        *,
        allow_private: bool,
        senders: int = 4,
        poll_s: float = 0.2,
        timeout_s: float = 5.0,
        post: PostOnce = post_once,
    ) -> None:
        self._queue = queue
        self._secret_of = secret_of
        self._allow_private = allow_private
        self._senders = senders
        self._poll_s = poll_s
        self._timeout_s = timeout_s
        self._post = post
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._busy: dict[str, str] = {}  # delivery id -> host
        self._thread = threading.Thread(target=self._run, name="veil-webhooks", daemon=True)

    def start(self) -> None:
        """Make deliveries a previous server was sending due again, then start sending."""
        self._queue.release_sending()
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming; wait for the attempts in flight (each ends within its timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        ticks = 0
        with ThreadPoolExecutor(self._senders, thread_name_prefix="veil-webhook") as pool:
            while not self._stop.wait(self._poll_s):
                with self._lock:
                    free, hosts = self._senders - len(self._busy), set(self._busy.values())
                if free > 0:
                    try:
                        due = self._queue.claim_due(free, hosts)
                    except Exception:
                        _log.exception("cannot read the webhook queue")
                        continue
                    for delivery in due:
                        with self._lock:
                            self._busy[delivery.id] = delivery.host
                        pool.submit(self._deliver, delivery)
                ticks += 1
                if ticks % 3000 == 0:
                    self._queue.prune()

    def _deliver(self, delivery: Delivery) -> None:
        try:
            secret = self._secret_of(delivery.key_id)
            if secret is None:
                attempt = Attempt(False, False, "the submitting key no longer exists")
            else:
                attempt = self._post(
                    delivery.url,
                    secret,
                    delivery.body,
                    delivery.id,
                    allow_private=self._allow_private,
                    timeout_s=self._timeout_s,
                )
            state = self._queue.record(delivery, attempt)
            _log.info("webhook %s of job %s: %s (%s)", delivery.id, delivery.job_id, state, attempt.detail)
        except Exception as exc:
            _log.exception("webhook %s of job %s: attempt failed", delivery.id, delivery.job_id)
            # Counted as an attempt, so a delivery that keeps failing this way still ends.
            with contextlib.suppress(Exception):
                self._queue.record(delivery, Attempt(False, True, f"internal error: {type(exc).__name__}"))
        finally:
            with self._lock:
                self._busy.pop(delivery.id, None)
