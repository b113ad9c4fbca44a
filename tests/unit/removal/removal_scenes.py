"""Synthetic clips with known background for removal tests: smooth texture, a moving square, a pan."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.types import Frame, Image, Mask

ROOM_PX = 60  # background beyond the frame edges, so a pan can reveal it


def texture(height: int, width: int, seed: int) -> Image:
    """Return smooth random RGB texture (blurred noise, contrast stretched)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2.0).astype(np.float32)
    return np.clip((blurred - 128.0) * 4.0 + 128.0, 0, 255).astype(np.uint8)


def clip(
    frames: int,
    *,
    height: int = 96,
    width: int = 128,
    side: int = 24,
    velocity: tuple[int, int] = (5, 0),
    start: tuple[int, int] = (10, 36),
    pan: tuple[int, int] = (0, 0),
    dilate: int = 2,
) -> tuple[list[Frame], list[Mask], list[Image]]:
    """Return frames with a flat red square moving over the background, its masks, and the clean truth."""
    big = texture(height + 2 * ROOM_PX, width + 2 * ROOM_PX, seed=3)
    out_frames, masks, truths = [], [], []
    for t in range(frames):
        ox, oy = ROOM_PX - pan[0] * t, ROOM_PX - pan[1] * t
        truth = np.ascontiguousarray(big[oy : oy + height, ox : ox + width])
        image = truth.copy()
        x0, y0 = start[0] + velocity[0] * t, start[1] + velocity[1] * t
        image[y0 : y0 + side, x0 : x0 + side] = (220, 30, 30)
        mask = np.zeros((height, width), np.bool_)
        mask[max(0, y0 - dilate) : y0 + side + dilate, max(0, x0 - dilate) : x0 + side + dilate] = True
        out_frames.append(Frame(image=image, index=t))
        masks.append(mask)
        truths.append(truth)
    return out_frames, masks, truths


def psnr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8], where: Mask) -> float:
    """Return the PSNR (dB) of ``a`` against ``b`` over the pixels in ``where``."""
    diff = a[where].astype(np.float64) - b[where].astype(np.float64)
    mse = float((diff**2).mean())
    return 10.0 * np.log10(255.0**2 / max(mse, 1e-10))
