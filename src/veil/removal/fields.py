"""Dense-field helpers: sample images at scattered points, fill holes smoothly, compute completed flow."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Flow", "complete_flow", "sample_at", "smooth_fill"]

Flow = npt.NDArray[np.float32]
"""h×w×2 float32 displacement (dx, dy) in the pixels of the grid it is defined on."""

# cv2.remap takes maps of at most 32767 rows and columns, so scattered points go in rows of this many.
_REMAP_COLUMNS = 1024


def sample_at(
    image: npt.NDArray[np.uint8] | npt.NDArray[np.float32] | npt.NDArray[np.bool_],
    xs: npt.NDArray[np.float32],
    ys: npt.NDArray[np.float32],
    *,
    nearest: bool = False,
) -> npt.NDArray[np.float32]:
    """Return ``image`` (h×w or h×w×c) sampled at the points (xs, ys) as (n, c) float32.

    Bilinear unless ``nearest``; points outside the image take the nearest edge pixel.
    """
    n = len(xs)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if n == 0:
        return np.zeros((0, channels), np.float32)
    rows = -(-n // _REMAP_COLUMNS)
    map_x = np.zeros(rows * _REMAP_COLUMNS, np.float32)
    map_y = np.zeros(rows * _REMAP_COLUMNS, np.float32)
    map_x[:n], map_y[:n] = xs, ys
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    source: npt.NDArray[np.uint8] | npt.NDArray[np.float32] = (
        image.astype(np.uint8) if image.dtype == np.bool_ else image  # type: ignore[assignment]
    )
    out = cv2.remap(
        source,
        map_x.reshape(rows, _REMAP_COLUMNS),
        map_y.reshape(rows, _REMAP_COLUMNS),
        interpolation,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out, np.float32).reshape(rows * _REMAP_COLUMNS, channels)[:n]


def smooth_fill(values: npt.NDArray[np.float32], known: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Return ``values`` (h×w×c) with the pixels not ``known`` filled smoothly from the known ones.

    Push-pull: known values are averaged down an image pyramid until every cell holds some, then
    each level's holes take the coarser level's estimate on the way back up. Known pixels keep their
    values; holes get a smooth blend of their surroundings. All-unknown input gives zeros.
    """
    if values.ndim != 3:
        raise ValueError(f"values must be h×w×c, got shape {values.shape}")
    if known.all():
        return values.copy()
    if not known.any():
        return np.zeros_like(values, dtype=np.float32)
    weight = known.astype(np.float32)
    levels: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = [
        (values.astype(np.float32) * weight[..., None], weight)
    ]
    while min(levels[-1][1].shape) > 1 and not (levels[-1][1] > 0).all():
        total, w = levels[-1]
        size = (max(1, (w.shape[1] + 1) // 2), max(1, (w.shape[0] + 1) // 2))
        coarse_total = np.asarray(cv2.resize(total, size, interpolation=cv2.INTER_AREA), np.float32)
        coarse_w = np.asarray(cv2.resize(w, size, interpolation=cv2.INTER_AREA), np.float32)
        levels.append((coarse_total.reshape(size[1], size[0], -1), coarse_w))
    total, w = levels[-1]
    estimate = total / np.maximum(w, 1e-6)[..., None]
    for total, w in reversed(levels[:-1]):
        size = (w.shape[1], w.shape[0])
        up = cv2.resize(estimate, size, interpolation=cv2.INTER_LINEAR).reshape(size[1], size[0], -1)
        alpha = np.clip(w, 0.0, 1.0)[..., None]
        estimate = alpha * (total / np.maximum(w, 1e-6)[..., None]) + (1.0 - alpha) * up
    out: npt.NDArray[np.float32] = np.where(known[..., None], values, estimate).astype(np.float32)
    return out


def complete_flow(raw: Flow, hole: npt.NDArray[np.bool_]) -> Flow:
    """Return ``raw`` flow with the pixels in ``hole`` replaced by a smooth fill of the flow around them.

    Inside a removed object the measured flow is the object's own motion; the background behind it
    moves like the background around it, which is what carrying colour through the hole needs.
    """
    if not hole.any():
        return raw
    return smooth_fill(raw, ~hole)
