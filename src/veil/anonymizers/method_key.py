"""Read the secret of the keyed methods (token) from a file or an environment variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from veil.errors import ConfigError

__all__ = ["KEY_ENV", "MIN_KEY_BYTES", "read_method_key"]

KEY_ENV = "VEIL_METHOD_KEY"
"""Environment variable holding the key itself (its text's UTF-8 bytes) when no key file is given."""

MIN_KEY_BYTES = 16


def read_method_key(path: Path | None, environ: Mapping[str, str] | None = None) -> bytes | None:
    """Return the key in ``path``, else in ``$VEIL_METHOD_KEY``, else None (the methods draw their own).

    A key file holds at least 16 bytes of secret, e.g. ``head -c 32 /dev/urandom > veil.key``; its bytes
    are the key as they are (a trailing newline of a typed key is dropped).

    Raises:
        ConfigError: the file cannot be read, or the key is shorter than 16 bytes.
    """
    env = os.environ if environ is None else environ
    if path is not None:
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
        where = f"the key file {path}"
    elif env.get(KEY_ENV):
        key = env[KEY_ENV].encode()
        where = f"${KEY_ENV}"
    else:
        return None
    key = key.removesuffix(b"\n").removesuffix(b"\r")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{where} holds {len(key)} bytes; a key needs at least {MIN_KEY_BYTES} "
            "(make one with: head -c 32 /dev/urandom > veil.key)"
        )
    return key
