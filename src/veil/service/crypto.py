"""Encrypt files at rest with AES-256-GCM, in authenticated chunks so large media streams in bounded memory.

Format: ``MAGIC`` (8 bytes) + chunk size (4 bytes, big endian), then chunks of
``nonce (12) + ciphertext + tag (16)``. Each chunk's associated data binds the header, the blob's
context (e.g. ``job-id/result``), the chunk index and whether it is the last chunk, so chunks cannot be
reordered, dropped, truncated or moved to another blob without decryption failing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.errors import ConfigError, VeilError

__all__ = [
    "CHUNK_BYTES",
    "BlobCorruptError",
    "decrypt_chunks",
    "decrypt_file",
    "encrypt_file",
    "generate_key_file",
    "load_key",
]

MAGIC = b"VEILENC1"
CHUNK_BYTES = 1024 * 1024
_NONCE = 12
_TAG = 16
_HEADER = struct.Struct(">I")
KEY_ENV = "VEIL_SERVICE_KEY"


class BlobCorruptError(VeilError):
    """An encrypted blob failed authentication: tampered, truncated, or under another key."""


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{source}: the encryption key is not valid base64") from None
    if len(key) != 32:
        raise ConfigError(f"{source}: the encryption key has {len(key)} bytes; AES-256 needs 32")
    return key


def generate_key_file(path: Path) -> None:
    """Write a new random base64 AES-256 key to ``path``, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")


def load_key(key_file: Path | None, default_file: Path, environ: dict[str, str] | None = None) -> bytes:
    """Return the data key: ``key_file``, else ``$VEIL_SERVICE_KEY``, else ``default_file`` (made if new)."""
    env = dict(os.environ) if environ is None else environ
    if key_file is not None:
        if not key_file.is_file():
            raise ConfigError(f"encryption key file {key_file} does not exist")
        return _decode_key(key_file.read_text(encoding="ascii"), str(key_file))
    if env.get(KEY_ENV):
        return _decode_key(env[KEY_ENV], KEY_ENV)
    if not default_file.exists():
        generate_key_file(default_file)
    return _decode_key(default_file.read_text(encoding="ascii"), str(default_file))


def _aad(header: bytes, context: str, index: int, last: bool) -> bytes:
    return header + context.encode() + struct.pack(">Q?", index, last)


def encrypt_file(key: bytes, src: BinaryIO, dst: Path, context: str) -> str:
    """Encrypt the stream ``src`` into ``dst`` (written whole, then renamed); return the plaintext sha256."""
    aead = AESGCM(key)
    digest = hashlib.sha256()
    header = MAGIC + _HEADER.pack(CHUNK_BYTES)
    tmp = dst.with_name(dst.name + ".tmp")
    try:
        with tmp.open("wb") as out:
            out.write(header)
            index = 0
            chunk = src.read(CHUNK_BYTES)
            while True:
                following = src.read(CHUNK_BYTES) if chunk else b""
                last = not following
                digest.update(chunk)
                nonce = os.urandom(_NONCE)
                out.write(nonce + aead.encrypt(nonce, chunk, _aad(header, context, index, last)))
                if last:
                    break
                chunk, index = following, index + 1
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()


def decrypt_chunks(key: bytes, path: Path, context: str) -> Iterator[bytes]:
    """Yield the plaintext of ``path`` chunk by chunk, raising BlobCorruptError on any tampering."""
    aead = AESGCM(key)
    with path.open("rb") as handle:
        header = handle.read(len(MAGIC) + _HEADER.size)
        if len(header) != len(MAGIC) + _HEADER.size or not header.startswith(MAGIC):
            raise BlobCorruptError(f"{path.name}: not an encrypted Veil blob")
        (chunk_bytes,) = _HEADER.unpack(header[len(MAGIC) :])
        if not 0 < chunk_bytes <= 64 * CHUNK_BYTES:
            raise BlobCorruptError(f"{path.name}: implausible chunk size {chunk_bytes}")
        sealed = chunk_bytes + _NONCE + _TAG
        index = 0
        block = handle.read(sealed)
        while True:
            following = handle.read(sealed)
            last = not following
            if len(block) < _NONCE + _TAG:
                raise BlobCorruptError(f"{path.name}: truncated at chunk {index}")
            try:
                plain = aead.decrypt(block[:_NONCE], block[_NONCE:], _aad(header, context, index, last))
            except InvalidTag:
                raise BlobCorruptError(f"{path.name}: chunk {index} failed authentication") from None
            yield plain
            if last:
                return
            block, index = following, index + 1


def decrypt_file(key: bytes, path: Path, dst: Path, context: str) -> str:
    """Decrypt ``path`` into the new file ``dst`` (owner-only) and return the plaintext sha256."""
    digest = hashlib.sha256()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in decrypt_chunks(key, path, context):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
