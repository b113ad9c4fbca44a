"""Tell a client that its job ended: a JSON POST signed with HMAC-SHA256 under the key's webhook secret."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2

__all__ = ["SIGNATURE_HEADER", "check_webhook_url", "send_webhook", "sign", "verify_signature"]

_log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Veil-Signature"
_TOLERANCE_S = 300.0


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """Return ``url`` if it is an absolute http(s) URL a webhook may go to, else raise ValueError.

    Unless ``allow_private``, the host must resolve to public addresses only: a client must not make
    the server post to its own loopback, the local network or a cloud metadata address (SSRF).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"webhook_url {url!r} must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("webhook_url must not carry credentials")
    if not allow_private:
        private = [a for a in _addresses(parts.hostname, parts.port) if not a.is_global]
        if private:
            raise ValueError(
                f"webhook_url host {parts.hostname!r} resolves to a non-public address ({private[0]}); "
                "webhooks go to public addresses only unless the server runs with --allow-private-webhooks"
            )
    return url


def _addresses(host: str, port: int | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValueError(f"webhook_url host {host!r} cannot be resolved ({exc.strerror or exc})") from None
    # Scope ids ("fe80::1%eth0") are not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Return the signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """Return whether ``header`` signs ``body`` under ``secret`` and is at most five minutes old."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > _TOLERANCE_S:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def send_webhook(
    url: str,
    secret: str,
    payload: dict[str, Any],
    attempts: int = 3,
    timeout_s: float = 5.0,
    *,
    allow_private: bool = False,
) -> bool:
    """POST ``payload`` to ``url``, retrying with backoff; return whether a 2xx answer came back.

    The address check of :func:`check_webhook_url` is made again before each attempt: a name may
    resolve elsewhere by the time a job ends.
    """
    body = json.dumps(payload, sort_keys=True).encode()
    for attempt in range(attempts):
        try:
            check_webhook_url(url, allow_private=allow_private)
        except ValueError as exc:
            _log.warning("webhook not sent: %s", exc)
            return False
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body, int(time.time()))}
        try:
            response = httpx2.post(
                url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False
            )
            if response.is_success:
                return True
            _log.warning("webhook %s answered %d", url, response.status_code)
        except httpx2.HTTPError as exc:
            _log.warning("webhook %s failed: %s", url, exc)
        if attempt + 1 < attempts:
            time.sleep(0.5 * 2**attempt)
    return False
