"""Token: each region filled with a striped pattern keyed to its track, the same one wherever it appears."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field

import numpy as np

from veil.anonymizers._output import redraw_regions
from veil.anonymizers._region_info import Region, region_digest
from veil.anonymizers.method_key import MIN_KEY_BYTES
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import Image

__all__ = ["Token", "token_colours"]

_PURPOSE = b"veil-token-pattern"


def token_colours(digest: bytes) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Return the two stripe colours (RGB) a token digest stands for: one colour and its complement."""
    first = (digest[0], digest[1], digest[2])
    second = (255 - digest[0], 255 - digest[1], 255 - digest[2])
    return first, second


@dataclass(frozen=True)
class Token:
    """Fill each region with two-colour stripes chosen by a keyed hash (HMAC-SHA256) of its track id.

    The same track gets the same token in every frame, and under one key in every file, so a viewer can
    tell "the same one again" while the token says nothing about what it hides: without the key, track
    ids cannot be told from the colours either. Stripes are laid out in the region's own coordinates, so
    they move with it.

    Args:
        key: the secret (at least 16 bytes); None draws a random one, so tokens differ from run to run.
    """

    key: bytes | None = field(default=None, repr=False)
    _secret: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key is not None and len(self.key) < MIN_KEY_BYTES:
            raise ConfigError(f"the token key has {len(self.key)} bytes; it needs at least {MIN_KEY_BYTES}")
        object.__setattr__(self, "_secret", self.key if self.key is not None else secrets.token_bytes(32))

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region tokenized; never modify ``image`` unless it is ``out``."""

        def redraw(region: Region, patch: Image) -> Image:
            digest = region_digest(self._secret, _PURPOSE, detections, region.row)
            x1, y1 = (float(v) for v in detections.boxes_xyxy[region.row, :2])
            crop = region.crop
            return _stripes(digest, crop.y0 - y1, crop.x0 - x1, patch.shape[:2], region.side_px)

        return redraw_regions(image, detections, out, redraw)


def _stripes(digest: bytes, top: float, left: float, hw: tuple[int, int], side: float) -> Image:
    """Return stripes of ``digest``'s colours, angle and width, laid out from the region's box corner."""
    first, second = token_colours(digest)
    angle = digest[3] / 256 * math.pi
    # Between 3 and 6 stripe pairs across the object, so the pattern reads at any size.
    period = side / (3 + digest[4] % 4)
    ys, xs = np.mgrid[0 : hw[0], 0 : hw[1]].astype(np.float32)
    along = (xs + left) * math.cos(angle) + (ys + top) * math.sin(angle)
    band = (np.floor(along / period).astype(np.int64) % 2).astype(np.bool_)
    values = np.empty((*hw, 3), np.uint8)
    values[...] = first
    values[band] = second
    return values
