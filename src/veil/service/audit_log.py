"""An append-only audit log (who did what, when, with what outcome), hash-chained so edits show."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from veil.service.db import Database

__all__ = ["MAX_TEXT_CHARS", "AuditEntry", "AuditLog", "bounded"]

# The log forbids deletes, so nothing a client sends may make one entry large.
MAX_TEXT_CHARS = 256


def bounded(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more]"


def _bounded_detail(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return bounded(value, MAX_TEXT_CHARS * 4)
    if isinstance(value, dict) and depth < 2:
        return {bounded(str(k)): _bounded_detail(v, depth + 1) for k, v in list(value.items())[:32]}
    if isinstance(value, list | tuple) and depth < 2:
        return [_bounded_detail(v, depth + 1) for v in value[:32]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return bounded(str(value))


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    seq: int
    at: float
    actor: str
    tenant: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    hash: str


class AuditLog:
    """Append entries; SQLite triggers refuse any UPDATE or DELETE of existing ones."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        *,
        actor: str,
        tenant: str,
        action: str,
        target: str = "",
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry, chained to the previous entry's hash; long texts are cut."""
        actor, tenant, action, target = (bounded(t) for t in (actor, tenant, action, target))
        outcome = bounded(outcome)
        body = json.dumps(_bounded_detail(detail or {}), sort_keys=True)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row["hash"] if row else ""
            at = time.time()
            digest = hashlib.sha256(
                json.dumps([prev, at, actor, tenant, action, target, outcome, body]).encode()
            ).hexdigest()
            conn.execute(
                "INSERT INTO audit_log (at, actor, tenant, action, target, outcome, detail, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (at, actor, tenant, action, target, outcome, body, prev, digest),
            )

    def entries(self, tenant: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Return the latest ``limit`` entries, oldest first; only ``tenant``'s when given."""
        sql = "SELECT * FROM audit_log" + (" WHERE tenant = ?" if tenant is not None else "")
        args: tuple[Any, ...] = (tenant,) if tenant is not None else ()
        rows = self._db.conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [
            AuditEntry(
                seq=r["seq"],
                at=r["at"],
                actor=r["actor"],
                tenant=r["tenant"],
                action=r["action"],
                target=r["target"],
                outcome=r["outcome"],
                detail=json.loads(r["detail"]),
                hash=r["hash"],
            )
            for r in reversed(rows)
        ]

    def verify_chain(self) -> bool:
        """Return whether every entry's hash matches its content and its predecessor."""
        prev = ""
        for r in self._db.conn.execute("SELECT * FROM audit_log ORDER BY seq"):
            fields = [
                prev,
                r["at"],
                r["actor"],
                r["tenant"],
                r["action"],
                r["target"],
                r["outcome"],
                r["detail"],
            ]
            if r["prev_hash"] != prev or hashlib.sha256(json.dumps(fields).encode()).hexdigest() != r["hash"]:
                return False
            prev = r["hash"]
        return True
