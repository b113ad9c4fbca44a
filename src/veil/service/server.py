"""Run the app with uvicorn: HTTPS with the given certificate, or plain HTTP on loopback when asked."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import uvicorn

from veil.api import check_obfuscator
from veil.errors import ConfigError
from veil.service.app import create_app
from veil.service.settings import ServiceSettings

__all__ = ["check_listen", "serve"]

_LOCAL_NAMES = frozenset({"localhost", "ip6-localhost"})


def _is_loopback(host: str) -> bool:
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str, tls_cert: Path | None, tls_key: Path | None, insecure: bool) -> None:
    """Refuse plain HTTP unless ``insecure`` is set and ``host`` is a loopback address."""
    if tls_cert is not None or tls_key is not None:
        if tls_cert is None or tls_key is None:
            raise ConfigError("HTTPS needs both --tls-cert and --tls-key")
        for path in (tls_cert, tls_key):
            if not path.is_file():
                raise ConfigError(f"TLS file {path} does not exist")
        return
    if not insecure:
        raise ConfigError(
            "no --tls-cert/--tls-key given: pass them, or --insecure to serve plain HTTP on localhost"
        )
    if not _is_loopback(host):
        raise ConfigError(f"--insecure serves plain HTTP and is allowed on loopback only, not on {host}")


def serve(
    settings: ServiceSettings,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    insecure: bool,
    log_level: int = logging.WARNING,
) -> None:
    """Serve until interrupted.

    Raises:
        ConfigError: the listening address or TLS files are refused.
        ModelError: ``settings.obfuscator`` is not a loadable obfuscator (checked before serving).
    """
    check_listen(host, tls_cert, tls_key, insecure)
    if settings.obfuscator is not None:
        check_obfuscator(settings.obfuscator)
    app = create_app(settings, log_level=log_level)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=logging.getLevelName(log_level).lower(),
        server_header=False,
        timeout_graceful_shutdown=10,
    )
