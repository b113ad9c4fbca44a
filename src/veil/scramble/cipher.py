"""Encrypt and decrypt region pixels in place with AES-256-GCM: one nonce and one tag per region."""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from veil.anonymizers._output import output_for
from veil.detections import Detections
from veil.errors import ConfigError, MissingExtraError, UnreadableMediaError
from veil.regions import RegionCrop, region_crop
from veil.types import Image, Mask

__all__ = [
    "FrameSeal",
    "RegionScrambler",
    "SealedRegion",
    "aead",
    "derive_keys",
    "regions_of",
    "unscramble_frame",
]

NONCE_BYTES = 12
TAG_BYTES = 16
SALT_BYTES = 16
_INFO_PIXELS = b"veil-scramble/1 pixels"
_INFO_LIST = b"veil-scramble/1 region list"


def aead(key: bytes) -> Any:
    """Return an AES-GCM cipher under the 32-byte ``key``.

    Raises:
        MissingExtraError: the ``cryptography`` package is not installed.
    """
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise MissingExtraError(
            "scrambling needs the cryptography package: pip install 'veil[scramble]'", extra="scramble"
        ) from None
    return AESGCM(key)


def derive_keys(secret: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """Return the (pixel key, region-list key) of one output: HKDF-SHA256 of ``secret`` with its ``salt``.

    A fresh salt per output gives every file its own keys, so one user key can scramble many files.
    """
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    except ImportError:
        raise MissingExtraError(
            "scrambling needs the cryptography package: pip install 'veil[scramble]'", extra="scramble"
        ) from None

    def derive(info: bytes) -> bytes:
        return bytes(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret))

    return derive(_INFO_PIXELS), derive(_INFO_LIST)


@dataclass(frozen=True)
class SealedRegion:
    """Where one encrypted region lies and what opens it.

    Args:
        y0, y1, x0, x1: the region's crop in frame pixels (half-open).
        mask: packed bits (``np.packbits`` of the crop's row-major mask), empty when the crop is full.
        nonce: the region's 12-byte AES-GCM nonce.
        tag: the 16-byte authentication tag of its ciphertext.
    """

    y0: int
    y1: int
    x0: int
    x1: int
    mask: bytes
    nonce: bytes
    tag: bytes

    def crop_mask(self) -> Mask:
        """Return the (y1 - y0, x1 - x0) bool mask of the region's pixels."""
        shape = (self.y1 - self.y0, self.x1 - self.x0)
        if not self.mask:
            return np.ones(shape, np.bool_)
        bits = np.unpackbits(np.frombuffer(self.mask, np.uint8), count=shape[0] * shape[1])
        mask: Mask = bits.reshape(shape).astype(np.bool_)
        return mask


@dataclass(frozen=True)
class FrameSeal:
    """The regions scrambled in one frame, in the order they were encrypted."""

    index: int
    regions: tuple[SealedRegion, ...] = ()
    hidden_whole: bool = False


def _associated(index: int, ordinal: int, region: SealedRegion) -> bytes:
    """Return what each region's tag also covers: its frame, its place in the frame and its pixels' layout."""
    head = struct.pack("<qqqqqq", index, ordinal, region.y0, region.y1, region.x0, region.x1)
    return head + hashlib.sha256(region.mask).digest()


@dataclass
class RegionScrambler:
    """An anonymizer that encrypts every region's pixels in place and keeps the seal of each call.

    The frame loop calls :meth:`apply` once per frame and then :meth:`take` with that frame's index.
    Regions are encrypted in order, each over the pixels as the previous ones left them, so overlapping
    regions come back when they are decrypted in reverse order.

    Args:
        pixel_key: the 32-byte AES key (see :func:`derive_keys`).
    """

    pixel_key: bytes = field(repr=False)
    _pending: list[SealedRegion] = field(default_factory=list, init=False, repr=False)
    _frame: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.pixel_key) != 32:
            raise ConfigError("the pixel key must be 32 bytes")
        self._cipher = aead(self.pixel_key)

    def begin(self, index: int) -> None:
        """Start frame ``index``: the regions encrypted next belong to it."""
        self._frame = index
        self._pending = []

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region replaced by its ciphertext; never modify ``image``."""
        result = output_for(image, out)
        frame_hw = (result.shape[0], result.shape[1])
        for i in range(len(detections)):
            crop = region_crop(detections, i, frame_hw)
            if crop is not None:
                self._pending.append(self._seal(result, crop))
        return result

    def take(self, hidden_whole: bool = False) -> FrameSeal:
        """Return the seal of the frame begun last and forget it."""
        seal = FrameSeal(self._frame, tuple(self._pending), hidden_whole and not self._pending)
        self._pending = []
        return seal

    def _seal(self, frame: Image, crop: RegionCrop) -> SealedRegion:
        patch = frame[crop.slices]
        packed = b"" if crop.is_full else np.packbits(crop.mask.reshape(-1)).tobytes()
        nonce = os.urandom(NONCE_BYTES)
        region = SealedRegion(crop.y0, crop.y1, crop.x0, crop.x1, packed, nonce, b"")
        plain = np.ascontiguousarray(patch[crop.mask]).tobytes()
        sealed = self._cipher.encrypt(nonce, plain, _associated(self._frame, len(self._pending), region))
        cipher_pixels = np.frombuffer(sealed[:-TAG_BYTES], np.uint8).reshape(-1, 3)
        patch[crop.mask] = cipher_pixels
        return SealedRegion(crop.y0, crop.y1, crop.x0, crop.x1, packed, nonce, sealed[-TAG_BYTES:])


def unscramble_frame(image: Image, seal: FrameSeal, pixel_key: bytes) -> Image:
    """Return a copy of ``image`` with the regions of ``seal`` decrypted, last encrypted first.

    Raises:
        UnreadableMediaError: a region's pixels (or where it lies) differ from what was encrypted:
            the file was changed, re-encoded lossily, or belongs to another region list.
    """
    cipher = aead(pixel_key)
    from cryptography.exceptions import InvalidTag  # present: aead() found the package

    result = np.ascontiguousarray(image).copy()
    height, width = result.shape[:2]
    for ordinal in reversed(range(len(seal.regions))):
        region = seal.regions[ordinal]
        if not (0 <= region.y0 < region.y1 <= height and 0 <= region.x0 < region.x1 <= width):
            raise UnreadableMediaError(
                f"frame {seal.index}: region {ordinal} lies outside the {width}×{height} frame: "
                "the region list belongs to another file"
            )
        patch = result[region.y0 : region.y1, region.x0 : region.x1]
        mask = region.crop_mask()
        sealed = np.ascontiguousarray(patch[mask]).tobytes() + region.tag
        try:
            plain = cipher.decrypt(region.nonce, sealed, _associated(seal.index, ordinal, region))
        except InvalidTag:
            raise UnreadableMediaError(
                f"frame {seal.index}: region {ordinal} does not match its tag: its pixels were changed "
                "(edited, or re-encoded with a lossy codec) or it comes from another file"
            ) from None
        patch[mask] = np.frombuffer(plain, np.uint8).reshape(-1, 3)
    return result


def regions_of(seals: Sequence[FrameSeal]) -> int:
    """Return how many regions ``seals`` hold in all."""
    return sum(len(seal.regions) for seal in seals)
