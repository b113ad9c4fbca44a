"""Tell a client that its job ended: a JSON POST signed with HMAC-SHA256 under the key's webhook secret.

Where a webhook may go (SSRF): the URL's host is resolved once, every address it resolves to must be
allowed, and the POST connects to one of exactly those addresses (the name is not resolved again, so a
DNS answer that changes in between cannot redirect it). An address is judged by what it reaches: the
IPv4 address inside IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4
(2002::/16) IPv6 forms is judged as IPv4. Link-local and cloud metadata addresses are refused always;
loopback and private networks unless the server allows private webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx2

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "Attempt",
    "WebhookTarget",
    "check_webhook_url",
    "post_once",
    "refusal",
    "resolve_webhook",
    "sign",
    "verify_signature",
]

_log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Veil-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_TOLERANCE_S = 300.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata and platform services reachable from cloud machines, beyond 169.254.0.0/16:
# Azure's wire server, Alibaba Cloud's metadata, Oracle Cloud's, and AWS's IPv6 metadata endpoint.
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("168.63.129.16", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)
_PRIVATE_HINT = "; webhooks go to public addresses only unless the server runs with --allow-private-webhooks"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64: the embedding varies; refused
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Return the IPv4 addresses an IPv6 address carries (and so may reach through a translator)."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _TRANSLATED or address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def refusal(address: Address, *, allow_private: bool) -> str | None:
    """Return why a webhook may not go to ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        for inner in _embedded_ipv4(address):
            reason = refusal(inner, allow_private=allow_private)
            if reason is not None:
                return f"{reason} (as {inner} inside {address})"
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address (cloud metadata among them)"
    # IPv6's reserved block holds loopback and the IPv4 forms: judged above and by is_global below.
    reserved_v4 = isinstance(address, ipaddress.IPv4Address) and address.is_reserved
    if address.is_multicast or address.is_unspecified or reserved_v4:
        return "not a unicast address"
    if not allow_private and not address.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class WebhookTarget:
    """A checked webhook URL and the addresses its host resolved to, each of them allowed."""

    url: str
    host: str
    addresses: tuple[Address, ...]


def resolve_webhook(url: str, *, allow_private: bool = False) -> WebhookTarget:
    """Check ``url`` and resolve its host once; raise ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"webhook_url {url!r} must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("webhook_url must not carry credentials")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"webhook_url {url!r} has an invalid port") from None
    addresses = _addresses(parts.hostname, port)
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            hint = "" if allow_private else _PRIVATE_HINT
            raise ValueError(f"webhook_url host {parts.hostname!r} resolves to {address}, {reason}{hint}")
    return WebhookTarget(url, parts.hostname, tuple(addresses))


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """Return ``url`` if a webhook may go there now, else raise ValueError (see :func:`resolve_webhook`)."""
    return resolve_webhook(url, allow_private=allow_private).url


def _addresses(host: str, port: int | None) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ValueError(f"webhook_url host {host!r} cannot be resolved ({reason})") from None
    # Scope ids ("fe80::1%eth0") are not part of the address.
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(found))


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


@dataclass(frozen=True)
class Attempt:
    """How one delivery attempt went: ``retry`` says whether trying again may help."""

    delivered: bool
    retry: bool
    detail: str


# Answers that say "later" rather than "never".
_RETRY_STATUS = frozenset({408, 425, 429})


def _pinned_url(url: str, address: Address) -> str:
    parts = urlsplit(url)
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def post_once(
    url: str,
    secret: str,
    body: bytes,
    delivery_id: str,
    *,
    allow_private: bool = False,
    timeout_s: float = 5.0,
) -> Attempt:
    """Resolve and check ``url``, then POST ``body`` once to an address just checked.

    The request carries the signature and ``Idempotency-Key: delivery_id`` (the same on every attempt
    at one event, so a receiver can drop repeats). TLS verifies the certificate for the URL's host name.
    """
    try:
        target = resolve_webhook(url, allow_private=allow_private)
    except ValueError as exc:
        return Attempt(False, False, str(exc))
    parts = urlsplit(url)
    headers = {
        "Content-Type": "application/json",
        "Host": parts.netloc.rsplit("@", 1)[-1],
        IDEMPOTENCY_HEADER: delivery_id,
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
    }
    extensions = {"sni_hostname": target.host} if parts.scheme == "https" else {}
    failure = "no address"
    # The environment's proxy settings would make the connection elsewhere than the checked address.
    with httpx2.Client(trust_env=False, follow_redirects=False, timeout=timeout_s) as client:
        for address in target.addresses:
            try:
                response = client.post(
                    _pinned_url(url, address), content=body, headers=headers, extensions=extensions
                )
            except httpx2.ConnectError as exc:
                failure = f"cannot connect to {address}: {exc}"
                continue
            except httpx2.HTTPError as exc:
                return Attempt(False, True, f"{type(exc).__name__}: {exc}")
            if response.is_success:
                return Attempt(True, False, f"answered {response.status_code}")
            retry = response.status_code >= 500 or response.status_code in _RETRY_STATUS
            return Attempt(False, retry, f"answered {response.status_code}")
    return Attempt(False, True, failure)
