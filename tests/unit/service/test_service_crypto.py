from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from veil.errors import ConfigError
from veil.service.crypto import (
    CHUNK_BYTES,
    BlobCorruptError,
    decrypt_file,
    encrypt_file,
    generate_key_file,
    load_key,
)

KEY = bytes(range(32))


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 5])
def test_round_trip_keeps_every_byte(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    sealed = tmp_path / "blob"
    digest = encrypt_file(KEY, io.BytesIO(data), sealed, "job/result")
    assert size < 16 or data[:64] not in sealed.read_bytes()
    out = tmp_path / "plain"
    assert decrypt_file(KEY, sealed, out, "job/result") == digest
    assert out.read_bytes() == data


@pytest.mark.parametrize(
    "damage", ["flip", "truncate_chunk", "drop_last_chunk", "other_context", "other_key"]
)
def test_tampering_is_detected(tmp_path: Path, damage: str) -> None:
    sealed = tmp_path / "blob"
    encrypt_file(KEY, io.BytesIO(os.urandom(CHUNK_BYTES + 100)), sealed, "job/result")
    raw = bytearray(sealed.read_bytes())
    key, context = KEY, "job/result"
    if damage == "flip":
        raw[40] ^= 1
    elif damage == "truncate_chunk":
        raw = raw[:-10]
    elif damage == "drop_last_chunk":
        raw = raw[: 12 + 12 + CHUNK_BYTES + 16]
    elif damage == "other_context":
        context = "other/result"
    else:
        key = bytes(32)
    sealed.write_bytes(bytes(raw))
    with pytest.raises(BlobCorruptError):
        decrypt_file(key, sealed, tmp_path / "plain", context)


def test_load_key_prefers_file_then_env_then_default(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    generate_key_file(key_file)
    assert key_file.stat().st_mode & 0o777 == 0o600
    from_file = load_key(key_file, tmp_path / "default", {})
    assert len(from_file) == 32
    env_key = load_key(None, tmp_path / "default", {"VEIL_SERVICE_KEY": key_file.read_text()})
    assert env_key == from_file
    default = load_key(None, tmp_path / "default", {})
    assert (tmp_path / "default").exists() and default != from_file


@pytest.mark.parametrize("text", ["not base64!", "c2hvcnQ="])
def test_bad_keys_are_refused_with_a_reason(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="key"):
        load_key(None, tmp_path / "default", {"VEIL_SERVICE_KEY": text})
