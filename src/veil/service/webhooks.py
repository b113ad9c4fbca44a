"""Tell a client that its job ended: a JSON POST signed with HMAC-SHA256 under the key's webhook secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2

__all__ = ["SIGNATURE_HEADER", "check_webhook_url", "send_webhook", "sign", "verify_signature"]

_log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Veil-Signature"
_TOLERANCE_S = 300.0


def check_webhook_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL, else raise ValueError naming the problem."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"webhook_url {url!r} must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("webhook_url must not carry credentials")
    return url


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
    url: str, secret: str, payload: dict[str, Any], attempts: int = 3, timeout_s: float = 5.0
) -> bool:
    """POST ``payload`` to ``url``, retrying with backoff; return whether a 2xx answer came back."""
    body = json.dumps(payload, sort_keys=True).encode()
    for attempt in range(attempts):
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
