"""A still camera's clean background: the per-pixel median over the frames where a pixel is not masked."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["masked_median"]


def masked_median(
    values: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Return the median over samples of each point's colour, counting only valid samples.

    Args:
        values: (k, n, c) uint8: k samples (frames) of n points with c channels.
        valid: (k, n) bool: whether a sample shows the background (the point was not masked there).

    Returns:
        (n, c) uint8 medians (the mean of the two middle samples for an even count) and (n,) bool:
        whether a point had any valid sample (its median is 0 otherwise).
    """
    if values.ndim != 3 or valid.shape != values.shape[:2]:
        raise ValueError(f"values {values.shape} and valid {valid.shape} must be (k, n, c) and (k, n)")
    k, n, c = values.shape
    if n == 0:
        return np.zeros((0, c), np.uint8), np.zeros(0, np.bool_)
    # Invalid samples become 255, so after sorting they sit above every valid one (a valid 255 ties).
    padded = np.where(valid[..., None], values, np.uint8(255))
    ordered = np.sort(np.ascontiguousarray(padded.transpose(1, 2, 0)), axis=2)  # (n, c, k)
    count = valid.sum(axis=0)
    low = np.clip((count - 1) // 2, 0, k - 1)
    high = np.clip(count // 2, 0, k - 1)
    rows = np.arange(n)[:, None]
    chans = np.arange(c)[None, :]
    lower = ordered[rows, chans, low[:, None]].astype(np.uint16)
    upper = ordered[rows, chans, high[:, None]].astype(np.uint16)
    median = ((lower + upper + 1) // 2).astype(np.uint8)
    known = count > 0
    median[~known] = 0
    return median, known
