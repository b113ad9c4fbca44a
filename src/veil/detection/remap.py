"""Move detections between image coordinate systems: scale, offset, and paste masks into a bigger frame."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.detections import Detections, Polygon

__all__ = ["box_masks", "remap_detections"]


def remap_detections(
    detections: Detections,
    *,
    scale_xy: tuple[float, float],
    offset_xy: tuple[float, float],
    frame_hw: tuple[int, int],
) -> Detections:
    """Return ``detections`` mapped by ``p * scale + offset`` into a frame of ``frame_hw`` (H, W).

    Boxes are clipped to the frame. Masks, when present, are resized to the source region's size in the
    frame (any partly covered pixel counts: masks grow rather than shrink) and pasted at the offset.
    """
    if len(detections) == 0:
        return detections
    sx, sy = scale_xy
    ox, oy = offset_xy
    height, width = frame_hw
    boxes = detections.boxes_xyxy.astype(np.float32, copy=True)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]] * sx + ox, 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]] * sy + oy, 0, height)
    polygons: tuple[Polygon | None, ...] | None = None
    if detections.polygons is not None:
        scale = np.array([sx, sy], np.float32)
        offset = np.array([ox, oy], np.float32)
        polygons = tuple(
            None if p is None else (np.asarray(p, np.float32) * scale + offset).astype(np.float32)
            for p in detections.polygons
        )
    masks = None
    if detections.masks is not None:
        masks = _remap_masks(detections.masks, sx, sy, ox, oy, frame_hw)
    return Detections(
        boxes_xyxy=boxes,
        scores=detections.scores,
        labels=detections.labels,
        masks=masks,
        polygons=polygons,
        track_ids=detections.track_ids,
        origins=detections.origins,
    )


def _remap_masks(
    masks: npt.NDArray[np.bool_], sx: float, sy: float, ox: float, oy: float, frame_hw: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    height, width = frame_hw
    n, src_h, src_w = masks.shape
    # Target rectangle of the whole source image in the frame, in whole pixels.
    x0, y0 = round(ox), round(oy)
    dst_w, dst_h = max(1, round(src_w * sx)), max(1, round(src_h * sy))
    out = np.zeros((n, height, width), bool)
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(width, x0 + dst_w), min(height, y0 + dst_h)
    if fx1 <= fx0 or fy1 <= fy0:
        return out
    for i in range(n):
        if (dst_w, dst_h) == (src_w, src_h):
            big = masks[i]
        else:
            # Linear interpolation then "> 0": every frame pixel touched by the mask stays hidden.
            big = (
                cv2.resize(masks[i].astype(np.uint8) * 255, (dst_w, dst_h), interpolation=cv2.INTER_LINEAR)
                > 0
            )
        out[i, fy0:fy1, fx0:fx1] = big[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    return out


def box_masks(boxes_xyxy: npt.NDArray[np.float32], frame_hw: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Return (N, H, W) masks that fill each box (outward-rounded to whole pixels)."""
    height, width = frame_hw
    out = np.zeros((len(boxes_xyxy), height, width), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes_xyxy):
        c0, r0 = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        c1, r1 = min(width, int(np.ceil(x2))), min(height, int(np.ceil(y2)))
        out[i, r0:r1, c0:c1] = True
    return out
