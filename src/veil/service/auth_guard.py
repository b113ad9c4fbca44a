"""Bound what failed authentications cost the server: a budget per client, and few, small audit rows.

Every failure counts against the client's budget (a token bucket per client address) before anything is
logged; a client past its budget is answered 429 and nothing is written. Within a window the first
failure of a (client, key id, reason) is logged at once, with the request path cut short; repeats are
counted and logged as one row when the window ends. At most ``max_rows_per_window`` such groups are
tracked; failures beyond them are counted in one overflow group, so memory and the log stay bounded
whatever a flood sends.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from veil.service.audit_log import AuditLog, bounded
from veil.service.keys import ApiKeyStore, key_id_of
from veil.service.ratelimit import RateLimiter

__all__ = ["AuthShield", "FailedAuthGuard", "client_network"]

_OVERFLOW = ("*", "*", "*")
# A refused request is answered after a pause, so each of a flood's connections sends few requests;
# past this many paused at once they are answered at once (each pause holds the request in memory).
_REFUSAL_PAUSE_S = 1.0
_MAX_PAUSED = 256
# The longest path or key id an audit row keeps of a failed request.
_PATH_CHARS = 200
_KEY_ID_CHARS = 32


def client_network(host: str | None) -> str:
    """Return what a client is counted as: its IPv4 address, or its IPv6 /64 (one subscriber's share)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return bounded(host or "-", 64)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class _Group:
    path: str
    repeats: int = 0


class FailedAuthGuard:
    """Count failed authentications per client, answer floods with 429, and aggregate their audit rows."""

    def __init__(
        self,
        audit: AuditLog,
        *,
        per_minute: float = 30.0,
        burst: int = 10,
        window_s: float = 60.0,
        max_rows_per_window: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audit = audit
        self._limiter = RateLimiter(per_minute, burst, clock=clock)
        self._window_s = window_s
        self._max_groups = max_rows_per_window
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._groups: dict[tuple[str, str, str], _Group] = {}

    def failed(self, client: str, key_id: str | None, path: str, reason: str) -> float:
        """Count one failed authentication; return 0 to answer 401, else the seconds to wait (429)."""
        client = client_network(client)
        wait_s = self._limiter.take(client)
        self.flush(due_only=True)
        group = (client, bounded(key_id or "-", _KEY_ID_CHARS), reason)
        short_path = bounded(path, _PATH_CHARS)
        with self._lock:
            if group in self._groups:
                self._groups[group].repeats += 1
                return wait_s
            if len(self._groups) >= self._max_groups or wait_s > 0:
                self._groups.setdefault(_OVERFLOW, _Group("*")).repeats += 1
                return wait_s
            self._groups[group] = _Group(short_path)
        self._write(group, short_path, count=1, action="auth")
        return 0.0

    def refusing(self, client: str | None) -> float:
        """Return the seconds ``client`` must wait before its next failure is even looked at (0: none)."""
        return self._limiter.waiting(client_network(client))

    def flush(self, *, due_only: bool = False) -> None:
        """Log the repeats counted so far (only once the window is over when ``due_only``)."""
        with self._lock:
            if due_only and self._clock() - self._window_start < self._window_s:
                return
            groups, self._groups = self._groups, {}
            self._window_start = self._clock()
        for group, seen in groups.items():
            if seen.repeats:
                self._write(group, seen.path, count=seen.repeats, action="auth.repeated")

    def _write(self, group: tuple[str, str, str], path: str, *, count: int, action: str) -> None:
        client, key_id, reason = group
        self._audit.record(
            actor="anonymous",
            tenant="-",
            action=action,
            outcome="denied",
            detail={"client": client, "key_id": key_id, "reason": reason, "path": path, "count": count},
        )


class AuthShield:
    """ASGI middleware: a client past its failure budget is answered 429 before any other work.

    Only requests carrying a key this process already verified get through, so a client sharing an
    address with a flood (a NAT, a proxy) keeps working; everything else from that client costs a
    header lookup and a counter until its budget refills, and is answered after a pause that costs the
    server nothing but slows each flooding connection down. ``guard_of(app)`` returns the app's guard
    and key store once the app has started.
    """

    def __init__(
        self,
        app: ASGIApp,
        guard_of: Callable[[Any], tuple[FailedAuthGuard, ApiKeyStore] | None],
        pause_s: float = _REFUSAL_PAUSE_S,
    ) -> None:
        self._app = app
        self._guard_of = guard_of
        self._pause_s = pause_s
        self._paused = 0  # changed on the event loop's thread only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self._app(scope, receive, send)
            return
        found = self._guard_of(scope["app"])
        client = scope["client"][0] if scope.get("client") else None
        if found is None or not found[0].refusing(client):
            await self._app(scope, receive, send)
            return
        guard, keys = found
        token = _bearer(scope)
        if token is not None and keys.was_verified(token):
            await self._app(scope, receive, send)
            return
        wait_s = guard.failed(
            client or "-", key_id_of(token or ""), scope["path"], "refused while over budget"
        )
        if self._paused < _MAX_PAUSED:
            self._paused += 1
            try:
                await asyncio.sleep(self._pause_s)
            finally:
                self._paused -= 1
        retry = str(max(1, round(wait_s)))
        body = b'{"detail":"too many failed authentications; retry in ' + retry.encode() + b' s"}'
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", retry.encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None
