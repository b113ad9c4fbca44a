"""The region list of a scrambled output: every seal, compressed and encrypted with the key."""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veil.errors import ConfigError, OutputError, UnreadableMediaError
from veil.scramble.cipher import NONCE_BYTES, SALT_BYTES, FrameSeal, SealedRegion, aead, derive_keys

__all__ = ["REGION_LIST_SUFFIX", "RegionList", "read_region_list", "region_list_path", "write_region_list"]

REGION_LIST_SUFFIX = ".veil-regions"
_MAGIC = b"VEILRGN1"
_FORMAT = "veil-regions/1"


@dataclass(frozen=True)
class RegionList:
    """What ``veil unscramble`` needs besides the key: the output's size, its salt and every frame's seal."""

    width: int
    height: int
    salt: bytes
    seals: tuple[FrameSeal, ...]

    def by_index(self) -> dict[int, FrameSeal]:
        """Return the seals by frame index."""
        return {seal.index: seal for seal in self.seals}


def region_list_path(output: Path) -> Path:
    """Return where the region list of ``output`` goes by default: ``OUTPUT.veil-regions`` beside it."""
    return output.with_name(output.name + REGION_LIST_SUFFIX)


def write_region_list(path: Path, secret: bytes, regions: RegionList) -> None:
    """Write ``regions`` to ``path``, encrypted under the list key derived from ``secret`` and its salt.

    Raises:
        OutputError: the file cannot be written.
    """
    _, list_key = derive_keys(secret, regions.salt)
    payload = {
        "format": _FORMAT,
        "width": regions.width,
        "height": regions.height,
        "frames": [_seal_to_json(seal) for seal in regions.seals],
    }
    nonce = os.urandom(NONCE_BYTES)
    plain = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)
    sealed = aead(list_key).encrypt(nonce, plain, _MAGIC + regions.salt)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(_MAGIC + regions.salt + nonce + sealed)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OutputError(f"cannot write the region list {path}: {exc.strerror or exc}") from None


def read_region_list(path: Path, secret: bytes) -> RegionList:
    """Return the region list in ``path``, opened with ``secret``.

    Raises:
        UnreadableMediaError: the file is missing or is not a region list.
        ConfigError: the key does not open it (a wrong key, or the list was changed).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableMediaError(
            f"no region list at {path}: scrambled regions cannot be restored without it "
            "(give its place with --regions)"
        ) from None
    except OSError as exc:
        raise UnreadableMediaError(f"cannot read the region list {path}: {exc.strerror or exc}") from None
    head = len(_MAGIC) + SALT_BYTES + NONCE_BYTES
    if len(data) <= head or not data.startswith(_MAGIC):
        raise UnreadableMediaError(f"{path} is not a Veil region list")
    salt = data[len(_MAGIC) : len(_MAGIC) + SALT_BYTES]
    nonce = data[len(_MAGIC) + SALT_BYTES : head]
    _, list_key = derive_keys(secret, salt)
    from cryptography.exceptions import InvalidTag  # present: derive_keys found the package

    try:
        plain = aead(list_key).decrypt(nonce, data[head:], _MAGIC + salt)
    except InvalidTag:
        raise ConfigError(
            f"the key does not open the region list {path.name}: a wrong key, or the list was changed"
        ) from None
    payload = json.loads(zlib.decompress(plain))
    if payload.get("format") != _FORMAT:
        raise UnreadableMediaError(f"{path} holds {payload.get('format')!r}, not {_FORMAT}")
    seals = tuple(_seal_from_json(item) for item in payload["frames"])
    return RegionList(int(payload["width"]), int(payload["height"]), salt, seals)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _seal_to_json(seal: FrameSeal) -> dict[str, Any]:
    return {
        "index": seal.index,
        "hidden_whole": seal.hidden_whole,
        "regions": [[r.y0, r.y1, r.x0, r.x1, _b64(r.mask), _b64(r.nonce), _b64(r.tag)] for r in seal.regions],
    }


def _seal_from_json(item: dict[str, Any]) -> FrameSeal:
    regions: Sequence[SealedRegion] = [
        SealedRegion(
            int(y0),
            int(y1),
            int(x0),
            int(x1),
            base64.b64decode(mask),
            base64.b64decode(nonce),
            base64.b64decode(tag),
        )
        for y0, y1, x0, x1, mask, nonce, tag in item["regions"]
    ]
    return FrameSeal(int(item["index"]), tuple(regions), bool(item["hidden_whole"]))
