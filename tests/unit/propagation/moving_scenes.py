"""Synthetic frame sequences for propagation tests: textured squares moving over textured backgrounds."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from veil.types import Frame, Image

_PAN_ROOM_PX = 80  # background beyond each frame edge, so a pan can reveal it


def texture(height: int, width: int, seed: int, blur_px: float = 1.5) -> Image:
    """Return smooth random RGB texture: noise blurred so optical flow has structure to follow."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), blur_px)
    # Stretch contrast back after the blur flattened it.
    stretched = (blurred.astype(np.float32) - 128.0) * 3.0 + 128.0
    return np.clip(stretched, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class MovingSquare:
    """A textured square whose top-left corner is at ``start + velocity × t`` on frame t."""

    side: int
    start: tuple[float, float]
    velocity: tuple[float, float]
    seed: int = 7

    def box(self, t: int) -> npt.NDArray[np.float32]:
        """Return the square's xyxy box on frame ``t``."""
        x = self.start[0] + self.velocity[0] * t
        y = self.start[1] + self.velocity[1] * t
        return np.array([x, y, x + self.side, y + self.side], np.float32)


def scene(
    t: int,
    squares: tuple[MovingSquare, ...],
    *,
    height: int = 240,
    width: int = 320,
    pan: tuple[int, int] = (0, 0),
    seed: int = 1,
) -> Frame:
    """Return frame ``t``: the background (shifted by ``pan`` × t pixels) with each square pasted on."""
    ox, oy = _PAN_ROOM_PX - pan[0] * t, _PAN_ROOM_PX - pan[1] * t
    if not (0 <= ox <= 2 * _PAN_ROOM_PX and 0 <= oy <= 2 * _PAN_ROOM_PX):
        raise ValueError(f"a pan of {pan} px per frame leaves the background by frame {t}")
    big = texture(height + 2 * _PAN_ROOM_PX, width + 2 * _PAN_ROOM_PX, seed)
    image = big[oy : oy + height, ox : ox + width].copy()
    for square in squares:
        patch = texture(square.side, square.side, square.seed, blur_px=1.0)
        x0, y0 = (round(v) for v in square.box(t)[:2])
        xa, ya = max(0, x0), max(0, y0)
        xb, yb = min(width, x0 + square.side), min(height, y0 + square.side)
        if xb > xa and yb > ya:
            image[ya:yb, xa:xb] = patch[ya - y0 : yb - y0, xa - x0 : xb - x0]
    return Frame(image=np.ascontiguousarray(image), index=t)
