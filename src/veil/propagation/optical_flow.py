"""Carry regions between detection frames with dense optical flow, and hold tracks the detector missed."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from veil.detections import Detections, Polygon
from veil.errors import ConfigError
from veil.geometry import inside_fraction_matrix
from veil.propagation.downscale import small_grey
from veil.propagation.tracker import IouTracker
from veil.types import Frame, ObjectClass, Origin

__all__ = ["FlowPropagator"]

_log = logging.getLogger(__name__)

Flow = npt.NDArray[np.float32]
Grey = npt.NDArray[np.uint8]
# Flow is sampled in the middle of each box (this share of its width and height), where the object
# itself, not the background showing around a person's legs or a face's hair, fills the pixels.
_CORE_RATIO = 0.5
# Template matching refines the flow's shift for cores of at least this many flow pixels a side, with
# some texture (grey-level spread), searching this share of the core's size around the flow's guess,
# and trusts only clear matches (normalized correlation).
_MIN_TEMPLATE_PX = 4
_MIN_TEMPLATE_STD = 4.0
_SEARCH_RATIO = 0.5
_MIN_SEARCH_PX = 3
_MIN_MATCH_SCORE = 0.8
# A held region whose box lies this much inside a fresh detection of its class is that detection.
_DUPLICATE_COVERAGE = 0.7
# Of the remembered frames (``history_frames``), the flows (1.8 MB each at 640×360) are kept for the
# newest few only; older steps are computed again when a late detection needs them.
_HISTORY_FLOWS = 8


@dataclass
class _Carried:
    """One track's region as last detected, and where it is on the current frame."""

    label: ObjectClass
    score: float
    box: npt.NDArray[np.float64]  # on the current frame, full-resolution xyxy
    anchor: npt.NDArray[np.float64]  # box when last detected: polygon and mask move as the box moved since
    last_seen: int
    polygon: Polygon | None = None
    mask_crop: npt.NDArray[np.uint8] | None = None  # the mask's bounding crop when last detected
    mask_origin: tuple[int, int] = (0, 0)  # (x0, y0) of that crop in frame pixels


class FlowPropagator:
    """Move regions from frame to frame by DIS optical flow computed at reduced resolution.

    Flow is computed between every pair of consecutive frames that has regions to move (about 3 ms
    a frame at 720p, flow at half size, on one core), so regions follow their objects whether or not
    the detector ran. Each box moves by the median flow in its middle, refined by template matching
    where that finds a clear match; boxes keep their size (reading growth from DIS's flow proved
    noisier than useful), and masks and polygons move with their box. On detection frames the
    detections get track ids (by IoU with where the flow has moved each track) and become the
    tracks' new anchors; a track the detector did not re-find is still returned, moved by the flow,
    until ``hold_frames`` frames have passed since it was last detected. Between detection frames
    every track is carried, whatever ``hold_frames`` is, so a region never lapses before the
    detector had a chance to confirm it. Carried regions are marked :attr:`Origin.PROPAGATED`.
    A region whose box leaves the frame is dropped; one whose object walks out of the picture
    usually stays at the edge (nothing there moves any more) until a detection frame drops it.

    Feed it only the regions the policy would hide (target classes above their score threshold):
    everything it is given is tracked, and carried regions are hidden whatever their score.

    Detections may land late (``detected_on``, live input whose detector runs on its own thread): they
    are first carried from the frame they were found on to the current one, step by step along the
    flows between, and come out as carried regions. That needs the last ``history_frames`` small grey
    frames (64 are two seconds at 30 fps, 15 MB at 640×360); with 0 nothing is remembered and a late
    detection is hidden where it was found.

    Args:
        flow_long_side_px: frames are shrunk so their long side is at most this before the flow is
            computed (640 halves 720p).
        hold_frames: frames after its last detection that a missed track is still returned.
        history_frames: recent frames remembered to carry late detections (0: none arrive late).
        tracker: assigns track ids; by default an :class:`IouTracker` that remembers tracks as long
            as they are held.
    """

    def __init__(
        self,
        *,
        flow_long_side_px: int = 640,
        hold_frames: int = 10,
        tracker: IouTracker | None = None,
        history_frames: int = 0,
    ) -> None:
        if not 64 <= flow_long_side_px <= 4096:
            raise ConfigError(f"flow_long_side_px={flow_long_side_px!r} is out of range [64, 4096]")
        if not 0 <= hold_frames <= 10_000:
            raise ConfigError(f"hold_frames={hold_frames!r} is out of range [0, 10000]")
        if not 0 <= history_frames <= 10_000:
            raise ConfigError(f"history_frames={history_frames!r} is out of range [0, 10000]")
        self.flow_long_side_px = flow_long_side_px
        self.hold_frames = hold_frames
        self.history_frames = history_frames
        self._tracker = tracker or IouTracker(max_missed_frames=hold_frames)
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._tracks: dict[int, _Carried] = {}
        self._previous: npt.NDArray[np.uint8] | None = None
        self._frame_hw: tuple[int, int] | None = None
        self._greys: OrderedDict[int, Grey] = OrderedDict()  # frame index → its small grey frame
        self._flows: OrderedDict[int, Flow] = OrderedDict()  # frame index → flow from the frame before

    def update(
        self, frame: Frame, detections: Detections | None, detected_on: int | None = None
    ) -> Detections:
        """Return the regions to hide on ``frame``: its detections with track ids plus carried regions.

        ``detected_on``: the earlier frame ``detections`` were found on (default: ``frame`` itself).
        """
        image = frame.image
        frame_hw = (int(image.shape[0]), int(image.shape[1]))
        if frame_hw != self._frame_hw:
            self.reset()
            self._frame_hw = frame_hw
        grey = small_grey(image, self.flow_long_side_px)
        if self._previous is not None and self._tracks:
            flow = self._flow_between(self._previous, grey)
            self._move_tracks(self._previous, grey, flow, frame_hw)
            if self.history_frames:
                self._remember_flow(frame.index, flow)
        self._previous = grey
        if self.history_frames:
            self._remember_grey(frame.index, grey)
        if detections is None:
            return self._carried(list(self._tracks), frame_hw)
        if detected_on is None or detected_on == frame.index:
            return self._on_detection_frame(frame.index, detections, frame_hw)
        return self._on_late_detections(frame.index, detected_on, detections, frame_hw)

    def reset(self) -> None:
        """Forget every track and the previous frame (scene cut, seek)."""
        self._tracks.clear()
        self._tracker.reset()
        self._previous = None
        self._greys.clear()
        self._flows.clear()

    def _flow_between(self, previous: Grey, grey: Grey) -> Flow:
        # OpenCV's stub wants an output array, but DIS reads a given array (garbage in one crashes it),
        # so pass None as OpenCV's documentation does.
        raw = self._flow.calc(previous, grey, None)  # type: ignore[call-overload]
        return np.asarray(raw, np.float32)

    def _remember_grey(self, index: int, grey: Grey) -> None:
        if self._greys and index <= next(reversed(self._greys)):
            self._greys.clear()  # a seek backwards: the history no longer leads here
            self._flows.clear()
        self._greys[index] = grey
        while len(self._greys) > self.history_frames:
            self._greys.popitem(last=False)

    def _remember_flow(self, index: int, flow: Flow) -> None:
        self._flows[index] = flow
        while len(self._flows) > _HISTORY_FLOWS:
            self._flows.popitem(last=False)

    def _on_detection_frame(
        self, index: int, detections: Detections, frame_hw: tuple[int, int]
    ) -> Detections:
        tracked, found = self._track(index, detections, detections, index)
        held = self._held(index, found, tracked)
        return Detections.concat([tracked, self._carried(held, frame_hw)], frame_shape=frame_hw)

    def _on_late_detections(
        self, index: int, detected_on: int, detections: Detections, frame_hw: tuple[int, int]
    ) -> Detections:
        moved = self._carry_boxes(detections.boxes_xyxy.astype(np.float64), detected_on, index, frame_hw)
        if moved is None:
            # Found too long ago to follow here: hide them where they were found, and grown by their
            # carried margin (they come out as carried regions) rather than drop them.
            _log.warning("detections of frame %d landed at frame %d, too late to carry", detected_on, index)
            moved = detections.boxes_xyxy.astype(np.float64)
        now = detections.with_boxes(moved.astype(np.float32))
        tracked, found = self._track(index, now, detections, detected_on)
        held = self._held(index, found, tracked)
        # Masks and polygons were found on the earlier frame: the carried form moves them with the box.
        return self._carried(sorted(found) + held, frame_hw)

    def _track(
        self, index: int, boxes_now: Detections, found_on: Detections, seen_at: int
    ) -> tuple[Detections, set[int]]:
        """Give ``boxes_now`` track ids; anchor each track on its detection in ``found_on`` (same rows)."""
        predicted = {i: t.box.astype(np.float32) for i, t in self._tracks.items()}
        tracked = self._tracker.update(index, boxes_now, predicted)
        assert tracked.track_ids is not None  # the tracker always assigns ids
        for row, track_id in enumerate(tracked.track_ids):
            track = _anchor(found_on, row, seen_at)
            track.box = np.asarray(boxes_now.boxes_xyxy[row], np.float64).copy()
            self._tracks[int(track_id)] = track
        return tracked, {int(i) for i in tracked.track_ids}

    def _held(self, index: int, found: set[int], tracked: Detections) -> list[int]:
        """Return the unfound tracks still held on frame ``index``, forgetting the others."""
        held = [
            i
            for i, t in self._tracks.items()
            if i not in found and index - t.last_seen <= self.hold_frames and not _duplicates(t, tracked)
        ]
        for track_id in [i for i in self._tracks if i not in found and i not in held]:
            del self._tracks[track_id]
        return held

    def _carry_boxes(
        self, boxes: npt.NDArray[np.float64], start: int, end: int, frame_hw: tuple[int, int]
    ) -> npt.NDArray[np.float64] | None:
        """Return ``boxes`` of frame ``start`` moved frame by frame to frame ``end``, or None if forgotten."""
        steps = range(start + 1, end + 1)
        if start not in self._greys or any(i not in self._greys for i in steps):
            return None
        boxes = boxes.copy()
        for i in steps:
            previous, grey = self._greys[i - 1], self._greys[i]
            flow = self._flows.get(i)
            if flow is None:
                flow = self._flow_between(previous, grey)
            for row in range(len(boxes)):
                boxes[row] = _moved_box(previous, grey, flow, boxes[row], frame_hw)
        return boxes

    def _move_tracks(self, previous: Grey, grey: Grey, flow: Flow, frame_hw: tuple[int, int]) -> None:
        gone = []
        for track_id, track in self._tracks.items():
            track.box = _moved_box(previous, grey, flow, track.box, frame_hw)
            if not _inside(track.box, frame_hw):
                gone.append(track_id)
        for track_id in gone:
            del self._tracks[track_id]

    def _carried(self, track_ids: list[int], frame_hw: tuple[int, int]) -> Detections:
        if not track_ids:
            return Detections.empty()
        tracks = [self._tracks[i] for i in track_ids]
        polygons = None
        if any(t.polygon is not None for t in tracks):
            polygons = [_moved_polygon(t) for t in tracks]
        masks = None
        if any(t.mask_crop is not None for t in tracks):
            masks = np.stack([_moved_mask(t, frame_hw) for t in tracks])
        return Detections.create(
            np.array([t.box for t in tracks], np.float32),
            [t.score for t in tracks],
            [t.label for t in tracks],
            masks=masks,
            polygons=polygons,
            track_ids=track_ids,
            origin=Origin.PROPAGATED,
        )


def _moved_box(
    previous: Grey, grey: Grey, flow: Flow, box: npt.NDArray[np.float64], frame_hw: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """Return full-resolution ``box`` moved from ``previous`` to ``grey`` (flow-sized frames)."""
    flow_h, flow_w = flow.shape[:2]
    sx, sy = flow_w / frame_hw[1], flow_h / frame_hw[0]
    small = box * (sx, sy, sx, sy)
    guess = _median_flow(flow, small)
    dx, dy = _matched_shift(previous, grey, small, guess) or guess
    return np.asarray(box + np.array([dx / sx, dy / sy, dx / sx, dy / sy]), np.float64)


def _median_flow(flow: Flow, box: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Return the median flow (dx, dy) in flow pixels inside ``box``'s core, or its visible part."""
    x0, y0, x1, y1 = _core_bounds(box, flow.shape[1], flow.shape[0])
    if x1 <= x0 or y1 <= y0:
        # The core has left the frame; what still shows of the box tells where it is heading.
        x0, y0, x1, y1 = _core_bounds(box, flow.shape[1], flow.shape[0], ratio=1.0)
    if x1 <= x0 or y1 <= y0:
        return 0.0, 0.0
    dx, dy = np.median(flow[y0:y1, x0:x1].reshape(-1, 2), axis=0)
    return float(dx), float(dy)


def _core_bounds(
    box: npt.NDArray[np.float64], width: int, height: int, ratio: float = _CORE_RATIO
) -> tuple[int, int, int, int]:
    """Return the pixel bounds (x0, y0, x1, y1) of ``box``'s core, clipped to a width×height image.

    The core is the middle ``ratio`` of the box's width and height.
    """
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half_w = max(0.5, (box[2] - box[0]) * ratio / 2)
    half_h = max(0.5, (box[3] - box[1]) * ratio / 2)
    x0, x1 = max(0, int(np.floor(cx - half_w))), min(width, int(np.ceil(cx + half_w)))
    y0, y1 = max(0, int(np.floor(cy - half_h))), min(height, int(np.ceil(cy + half_h)))
    return x0, y0, x1, y1


def _matched_shift(
    previous: Grey, grey: Grey, box: npt.NDArray[np.float64], guess: tuple[float, float]
) -> tuple[float, float] | None:
    """Return the shift of ``box``'s core found by template matching near ``guess``, or None if unsure.

    DIS's coarse-to-fine flow lets the background drag small or fast objects (a 40 px square moving
    8 px a frame reads as 2 px), so the flow's estimate only centres a search for the core itself.
    """
    height, width = grey.shape
    x0, y0, x1, y1 = _core_bounds(box, width, height)
    if x1 - x0 < _MIN_TEMPLATE_PX or y1 - y0 < _MIN_TEMPLATE_PX:
        return None
    template = previous[y0:y1, x0:x1]
    _, std = cv2.meanStdDev(template)
    if float(std[0, 0]) < _MIN_TEMPLATE_STD:
        return None  # a flat patch matches anywhere
    radius = max(_MIN_SEARCH_PX, round(max(x1 - x0, y1 - y0) * _SEARCH_RATIO))
    gx, gy = round(guess[0]), round(guess[1])
    wx0, wy0 = max(0, x0 + gx - radius), max(0, y0 + gy - radius)
    wx1, wy1 = min(width, x1 + gx + radius), min(height, y1 + gy + radius)
    if wx1 - wx0 < x1 - x0 + 2 or wy1 - wy0 < y1 - y0 + 2:
        return None
    scores = cv2.matchTemplate(grey[wy0:wy1, wx0:wx1], template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (px, py) = cv2.minMaxLoc(scores)
    rows, cols = scores.shape
    if best < _MIN_MATCH_SCORE or not (0 < px < cols - 1 and 0 < py < rows - 1):
        return None  # weak, or on the window's edge: the object may lie beyond it
    fx = px + _parabola_peak(scores[py, px - 1], best, scores[py, px + 1])
    fy = py + _parabola_peak(scores[py - 1, px], best, scores[py + 1, px])
    return wx0 + fx - x0, wy0 + fy - y0


def _parabola_peak(left: float, centre: float, right: float) -> float:
    """Return the sub-pixel offset in [-0.5, 0.5] of the peak of three samples around ``centre``."""
    curvature = float(left) - 2 * float(centre) + float(right)
    if curvature >= 0:
        return 0.0
    return min(0.5, max(-0.5, (float(left) - float(right)) / (2 * curvature)))


def _inside(box: npt.NDArray[np.float64], frame_hw: tuple[int, int]) -> bool:
    height, width = frame_hw
    return bool(box[2] > 0 and box[3] > 0 and box[0] < width and box[1] < height)


def _anchor(detections: Detections, row: int, index: int) -> _Carried:
    box = np.asarray(detections.boxes_xyxy[row], np.float64)
    carried = _Carried(
        label=detections.labels[row],
        score=float(detections.scores[row]),
        box=box.copy(),
        anchor=box.copy(),
        last_seen=index,
        polygon=detections.polygon(row),
    )
    mask = detections.mask(row)
    if mask is not None and mask.any():
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        carried.mask_crop = mask[y0:y1, x0:x1].astype(np.uint8)
        carried.mask_origin = (x0, y0)
    return carried


def _duplicates(track: _Carried, detections: Detections) -> bool:
    """Return whether a fresh detection of the track's class already covers the track's region."""
    same = np.array([label is track.label for label in detections.labels], np.bool_)
    if not same.any():
        return False
    inside = inside_fraction_matrix(track.box.astype(np.float32)[None], detections.boxes_xyxy[same])
    return float(inside.max()) >= _DUPLICATE_COVERAGE


def _shift_since_anchor(track: _Carried) -> tuple[float, float]:
    """Return how far (dx, dy) the track's box has moved since it was last detected."""
    return float(track.box[0] - track.anchor[0]), float(track.box[1] - track.anchor[1])


def _moved_polygon(track: _Carried) -> Polygon | None:
    if track.polygon is None:
        return None
    dx, dy = _shift_since_anchor(track)
    shift = np.array([dx, dy], np.float64)
    return (np.asarray(track.polygon, np.float64).reshape(-1, 2) + shift).astype(np.float32)


def _moved_mask(track: _Carried, frame_hw: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Return the track's mask, as last detected, translated by whole pixels to its box's position."""
    out = np.zeros(frame_hw, np.bool_)
    if track.mask_crop is None:
        return out
    dx, dy = _shift_since_anchor(track)
    # Rounding the total shift since the anchor, not each frame's, keeps rounding from adding up.
    x0, y0 = track.mask_origin[0] + round(dx), track.mask_origin[1] + round(dy)
    crop_h, crop_w = track.mask_crop.shape
    height, width = frame_hw
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(width, x0 + crop_w), min(height, y0 + crop_h)
    if dx1 > dx0 and dy1 > dy0:
        out[dy0:dy1, dx0:dx1] = track.mask_crop[dy0 - y0 : dy1 - y0, dx0 - x0 : dx1 - x0].astype(np.bool_)
    return out
