"""API keys: created once and shown once, stored as scrypt hashes, with scopes and a tenant."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.errors import ConfigError
from veil.service.db import Database

__all__ = ["ApiKeyStore", "AuthBusyError", "CreatedKey", "KeyRecord", "Scope", "key_id_of", "parse_scopes"]

_PREFIX = "veil"
# scrypt cost: n=2**14, r=8 is the interactive-login setting of the scrypt paper (about 16 MiB, ~50 ms).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
# Each scrypt run holds its 16 MiB for its duration: few at once keep memory flat under a flood.
_SCRYPT_CONCURRENCY = 2
_SCRYPT_WAIT_S = 5.0
# Keys made before the cheap check existed fall back to scrypt; repeated wrong secrets for one such
# key id stop reaching scrypt for a while.
_LOCK_AFTER_FAILURES = 5
_LOCK_WINDOW_S = 60.0
_LOCK_S = 30.0
_CHECK_LABEL = b"veil api-key check v1"


class Scope(enum.Enum):
    """What a key may do: submit jobs, read results, or administer (read the audit log)."""

    SUBMIT = "submit"
    READ = "read"
    ADMIN = "admin"


def parse_scopes(text: str) -> frozenset[Scope]:
    """Parse ``submit,read`` into scopes, naming the valid ones on error."""
    scopes: set[Scope] = set()
    for name in (part.strip().lower() for part in text.split(",")):
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError:
            valid = ", ".join(s.value for s in Scope)
            raise ConfigError(f"unknown scope {name!r}; valid: {valid}") from None
    if not scopes:
        raise ConfigError("no scope given; name at least one of submit, read, admin")
    return frozenset(scopes)


@dataclass(frozen=True)
class KeyRecord:
    """A stored key, without its secret."""

    key_id: str
    name: str
    tenant: str
    scopes: frozenset[Scope]
    rate_per_minute: float | None
    created_at: float
    revoked: bool

    def allows(self, scope: Scope) -> bool:
        """Return whether this key holds ``scope`` (admin holds every scope)."""
        return scope in self.scopes or Scope.ADMIN in self.scopes


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``token`` and ``webhook_secret`` are shown once and never stored in the clear."""

    record: KeyRecord
    token: str
    webhook_secret: str


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)


class AuthBusyError(Exception):
    """Too many key verifications at once; the client should retry shortly (answered with 503)."""


def key_id_of(token: str) -> str | None:
    """Return the key id a token names (its visible prefix), or None when it is not shaped like a key."""
    parts = _split(token)
    return parts[0] if parts else None


def _split(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ApiKeyStore:
    """Create, verify, list and revoke API keys; webhook secrets are sealed with the data key."""

    def __init__(self, db: Database, data_key: bytes) -> None:
        self._db = db
        self._aead = AESGCM(data_key)
        # A key of its own for the cheap check, so the data key's AES-GCM use stays separate.
        self._check_key = hmac.new(data_key, _CHECK_LABEL, hashlib.sha256).digest()
        # Verified (key id, token digest) pairs, so scrypt runs once per key and process, not per request.
        self._verified: dict[str, bytes] = {}
        self._scrypt_slots = threading.BoundedSemaphore(_SCRYPT_CONCURRENCY)
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # key id -> (failures, first failure time)
        self._locked_until: dict[str, float] = {}

    def _check(self, key_id: str, secret: str) -> bytes:
        # HMAC under a server key: as unguessable as the secret, and a wrong secret costs one hash.
        return hmac.new(self._check_key, f"{key_id}\0{secret}".encode(), hashlib.sha256).digest()

    def create(
        self,
        name: str,
        scopes: frozenset[Scope],
        tenant: str = "default",
        rate_per_minute: float | None = None,
    ) -> CreatedKey:
        """Create a key and return it with its one-time token."""
        if not name.strip() or not tenant.strip():
            raise ConfigError("a key needs a non-empty name and tenant")
        if rate_per_minute is not None and rate_per_minute <= 0:
            raise ConfigError(f"rate_per_minute={rate_per_minute!r} must be positive")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        webhook_secret = secrets.token_urlsafe(32)
        nonce = secrets.token_bytes(12)
        sealed = nonce + self._aead.encrypt(nonce, webhook_secret.encode(), key_id.encode())
        now = time.time()
        scope_text = ",".join(sorted(s.value for s in scopes))
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (key_id, name, tenant, scopes, secret_hash, salt, secret_check,"
                " webhook_secret, rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    name,
                    tenant,
                    scope_text,
                    _hash(secret, salt),
                    salt,
                    self._check(key_id, secret),
                    sealed,
                    rate_per_minute,
                    now,
                ),
            )
        record = KeyRecord(key_id, name, tenant, scopes, rate_per_minute, now, revoked=False)
        return CreatedKey(record, f"{_PREFIX}_{key_id}_{secret}", webhook_secret)

    def verify(self, token: str) -> KeyRecord | None:
        """Return the live key that ``token`` belongs to, or None.

        A wrong secret costs a database lookup and one HMAC; scrypt runs only for a secret that passed
        that check (once per key and process), a few at a time.

        Raises:
            AuthBusyError: no scrypt slot came free in time.
        """
        parts = _split(token)
        if parts is None:
            return None
        key_id, secret = parts
        row = self._db.conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None or row["revoked_at"] is not None:
            return None
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(key_id)
        if cached is not None and hmac.compare_digest(cached, digest):
            return _record(row)
        check: bytes | None = row["secret_check"]
        if check is not None:
            if not hmac.compare_digest(self._check(key_id, secret), check):
                return None
        elif self._locked(key_id):
            return None
        if not self._scrypt_slots.acquire(timeout=_SCRYPT_WAIT_S):
            raise AuthBusyError(key_id)
        try:
            ok = hmac.compare_digest(_hash(secret, row["salt"]), row["secret_hash"])
        finally:
            self._scrypt_slots.release()
        if not ok:
            self._count_failure(key_id)
            return None
        if check is None:  # a key from before the cheap check: record it now
            with self._db.transaction() as conn:
                conn.execute(
                    "UPDATE api_keys SET secret_check = ? WHERE key_id = ?",
                    (self._check(key_id, secret), key_id),
                )
        self._verified[key_id] = digest
        return _record(row)

    def was_verified(self, token: str) -> bool:
        """Return whether ``token`` passed :meth:`verify` in this process (a hint: verify still decides)."""
        parts = _split(token)
        cached = self._verified.get(parts[0]) if parts else None
        return cached is not None and hmac.compare_digest(cached, hashlib.sha256(token.encode()).digest())

    def _locked(self, key_id: str) -> bool:
        with self._lock:
            return self._locked_until.get(key_id, 0.0) > time.monotonic()

    def _count_failure(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            count, since = self._failures.get(key_id, (0, now))
            if now - since > _LOCK_WINDOW_S:
                count, since = 0, now
            count += 1
            if count >= _LOCK_AFTER_FAILURES:
                self._locked_until[key_id] = now + _LOCK_S
                count, since = 0, now
            self._failures[key_id] = (count, since)

    def webhook_secret(self, key_id: str) -> str | None:
        """Return the webhook signing secret of ``key_id``."""
        row = self._db.conn.execute(
            "SELECT webhook_secret FROM api_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        if row is None:
            return None
        sealed: bytes = row["webhook_secret"]
        return self._aead.decrypt(sealed[:12], sealed[12:], key_id.encode()).decode()

    def records(self) -> list[KeyRecord]:
        """Return every key, oldest first."""
        rows = self._db.conn.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        return [_record(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke ``key_id``; return whether a live key was revoked."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
        self._verified.pop(key_id, None)
        return cur.rowcount == 1


def _record(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(
        key_id=row["key_id"],
        name=row["name"],
        tenant=row["tenant"],
        scopes=frozenset(Scope(s) for s in row["scopes"].split(",")),
        rate_per_minute=row["rate_per_minute"],
        created_at=row["created_at"],
        revoked=row["revoked_at"] is not None,
    )
