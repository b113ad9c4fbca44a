"""Refuse frames whose size is empty or beyond the configured pixel budget."""

from __future__ import annotations

from veil.errors import UnsupportedFrameError

__all__ = ["check_frame_size"]


def check_frame_size(width: int, height: int, max_pixels: int, what: str) -> None:
    """Raise UnsupportedFrameError when a ``width``×``height`` frame is empty or over ``max_pixels``.

    ``what`` names the file (and frame) in the message.
    """
    if width <= 0 or height <= 0:
        raise UnsupportedFrameError(f"{what}: frame size {width}×{height} is empty")
    if width * height > max_pixels:
        raise UnsupportedFrameError(
            f"{what}: frame size {width}×{height} = {width * height} pixels exceeds max_pixels={max_pixels}"
        )
