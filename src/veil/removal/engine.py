"""Fill the masked pixels of a frame stream from a sliding window of neighbouring frames.

Each frame waits until ``window_radius`` later frames have arrived (or its batch ends), then its
masked pixels are filled, in this order of preference:

1. from other frames of its batch: on a still camera the per-pixel median of the window's frames
   where the pixel was not masked, nor on the frames next to them (a background plate that
   follows lighting as the window slides); on a moving camera, colour carried along optical flow
   from the nearest frames forward and backward where the pixel shows background and did on the
   frames next to it (flow inside the masks is filled in from around them);
2. from the previous output frame, moved by the flow, for pixels no frame of the window shows (so a
   spatial fill made once stays put instead of being redone, and flickering, on every frame);
3. spatially, by OpenCV's inpainting from the pixels around them (Telea).

On a moving camera, colour from other frames is matched to the frame's own lighting (exposure
changes as the car drives under a bridge): the difference between the frame and its fill on a thin
ring just outside the mask is spread smoothly over the hole and added. A still camera's sliding
median follows lighting by itself, and there the ring's pixel noise would only add flicker.
Memory stays bounded: ``2 × window_radius + 1`` frames with their masks and flow.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from veil.errors import ConfigError
from veil.propagation.downscale import small_grey
from veil.removal.batches import BatchOrganizer, CameraMotion, camera_motion_px
from veil.removal.fields import Flow, complete_flow, sample_at, smooth_fill
from veil.removal.plate import masked_median
from veil.removal.report import FillCounts
from veil.types import Frame, Image, Mask

__all__ = ["FilledFrame", "WindowFiller"]

_log = logging.getLogger(__name__)

Grey = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]

# Flow near an object's edge is dragged by the object, so its hole is grown by this many flow pixels.
_FLOW_HOLE_MARGIN_PX = 4
# A flow step is trusted when going forward and back lands within this (flow pixels, plus a share of
# the step's length) of where it started; beyond it the point was occluded or the flow is wrong.
_CONSISTENCY_PX = 1.0
_CONSISTENCY_RATIO = 0.1
# Width (frame pixels) of the ring outside the mask that matches a fill's lighting to the frame.
_RING_PX = 3
# The lighting correction is for exposure drift and shadows of clouds, not for painting content.
_MAX_CORRECTION = 48.0
_CORRECTION_SIGMA_PX = 4.0
_INPAINT_RADIUS_PX = 5
# A still camera's fill keeps the previous frame's colour where the new plate differs by at most this
# (levels, any channel): the median's jitter on textured ground, which would otherwise flicker inside
# the fill more than the picture around it does (figures: docs/tuning.md, "Removal").
_STEADY_LEVELS = 6.0
_DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
# The camera counts as moving when the median flow (DIS ultrafast, flow grid) is longer than this: above
# what a still camera reads even under a dense crowd, below a moving camera's (figures: docs/tuning.md,
# "Removal").
_STILL_PX = 0.15


@dataclass(frozen=True)
class FilledFrame:
    """One output frame: the input frame, its filled image, the mask that was filled, and how."""

    frame: Frame
    image: Image
    mask: Mask
    counts: FillCounts
    motion: CameraMotion


@dataclass
class _Entry:
    frame: Frame
    mask: Mask
    segment: int
    grey: Grey
    flow_hole: npt.NDArray[np.bool_]  # the mask on the flow grid, grown
    linked_back: bool = False  # the previous entry is the previous frame of the same segment
    forward: Flow | None = None  # completed flow to the next frame, computed when first needed
    backward: Flow | None = None  # completed flow to the previous frame, computed when first needed
    lending: Mask | None = None  # pixels that may not lend colour, computed when first needed
    lending_has_next: bool = False  # ``lending`` includes the next frame's mask


class WindowFiller:
    """Remove masked pixels from frames pushed in order, returning each frame once it can be filled.

    Example::

        filler = WindowFiller(window_radius=15)
        for frame, mask in frames_and_masks:
            for done in filler.push(frame, mask, cut=is_cut(frame)):
                write(done.frame, done.image)
        for done in filler.flush():
            write(done.frame, done.image)

    Args:
        window_radius: frames before and after a frame that may lend it background.
        plate_samples: most frames in a still camera's per-pixel median.
        flow_long_side_px: optical flow runs on frames shrunk to this long side.
        accumulate_masks: the objects do not move: every frame of a batch gets the union of all
            masks of the batch seen so far (including the look-ahead), so a parked car whose
            segmentation flickers is removed whole on every frame.
        fallback_mask: with ``accumulate_masks``, what to remove while the batch's masks are all
            empty (the user's box, when the detector finds nothing in it).
        organizer: groups frames into batches by camera motion; a default one if not given.
    """

    def __init__(
        self,
        *,
        window_radius: int = 15,
        plate_samples: int = 15,
        flow_long_side_px: int = 640,
        accumulate_masks: bool = False,
        fallback_mask: Mask | None = None,
        organizer: BatchOrganizer | None = None,
    ) -> None:
        if not 1 <= window_radius <= 120:
            raise ConfigError(f"window_radius={window_radius!r} is out of range [1, 120]")
        if not 3 <= plate_samples <= 61:
            raise ConfigError(f"plate_samples={plate_samples!r} is out of range [3, 61]")
        if not 64 <= flow_long_side_px <= 4096:
            raise ConfigError(f"flow_long_side_px={flow_long_side_px!r} is out of range [64, 4096]")
        self.window_radius = window_radius
        self.plate_samples = plate_samples
        self.flow_long_side_px = flow_long_side_px
        self.accumulate_masks = accumulate_masks
        self.fallback_mask = fallback_mask
        self.organizer = organizer or BatchOrganizer(still_px=_STILL_PX)
        self._flow = cv2.DISOpticalFlow.create(_DIS_PRESET)
        self._rough = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._entries: deque[_Entry] = deque()
        self._pending = 0  # entries at the end of the deque not yet filled
        self._union: Mask | None = None  # accumulate_masks: the current segment's masks so far
        self._previous_output: Image | None = None
        self._previous_mask: Mask | None = None  # the pixels filled on the previous output frame

    def push(self, frame: Frame, mask: Mask, *, cut: bool = False) -> list[FilledFrame]:
        """Add the next frame and the mask of what to remove on it; return the frames now filled."""
        image = frame.image
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} differs from the frame's {image.shape[:2]}")
        grey = small_grey(image, self.flow_long_side_px)
        flow_hole = _grown(_shrunk(mask, grey.shape), _FLOW_HOLE_MARGIN_PX)
        last = self._entries[-1] if self._entries else None
        if last is not None and last.grey.shape != grey.shape:
            cut = True  # a new frame size cannot borrow from the old one
        motion_px: float | None = None
        if last is not None and not cut:
            motion_px = camera_motion_px(self._rough_flow(last.grey, grey), last.flow_hole)
        segment = self.organizer.observe(motion_px, cut=cut)
        done: list[FilledFrame] = []
        if last is not None and last.segment != segment:
            done += self._finish_segment()
            last = None
        entry = _Entry(
            frame=frame, mask=np.asarray(mask, np.bool_), segment=segment, grey=grey, flow_hole=flow_hole
        )
        entry.linked_back = last is not None
        if self.accumulate_masks:
            self._union = entry.mask.copy() if self._union is None else self._union | entry.mask
        self._entries.append(entry)
        self._pending += 1
        while self._pending > self.window_radius:
            done.append(self._fill_next())
        self._trim()
        return done

    @property
    def current_motion(self) -> CameraMotion:
        """Return the camera motion of the batch of the last frame pushed (still before any)."""
        if not self._entries:
            return CameraMotion.STILL
        return self.organizer.kind(self._entries[-1].segment)

    def flush(self) -> list[FilledFrame]:
        """Fill and return every frame still waiting (call once, after the last push)."""
        return self._finish_segment()

    def _finish_segment(self) -> list[FilledFrame]:
        done = [self._fill_next() for _ in range(self._pending)]
        self._entries.clear()
        self._union = None
        self._previous_output = None
        self._previous_mask = None
        return done

    def _trim(self) -> None:
        keep = self._pending + self.window_radius
        while len(self._entries) > keep:
            self._entries.popleft()

    def _calc(self, a: Grey, b: Grey) -> Flow:
        # OpenCV's stub wants an output array; DIS reads a given one, so pass None as its docs do.
        raw = self._flow.calc(a, b, None)  # type: ignore[call-overload]
        return np.asarray(raw, np.float32)

    def _rough_flow(self, a: Grey, b: Grey) -> Flow:
        """Return a cheap flow (DIS ultrafast), enough to tell a still camera from a moving one."""
        raw = self._rough.calc(a, b, None)  # type: ignore[call-overload]
        return np.asarray(raw, np.float32)

    def _flows(self, position: int) -> tuple[Flow | None, Flow | None]:
        """Return the completed (forward, backward) flow of the entry at ``position``, computing them once."""
        entry = self._entries[position]
        if entry.forward is None and position + 1 < len(self._entries):
            following = self._entries[position + 1]
            if following.linked_back:
                entry.forward = complete_flow(self._calc(entry.grey, following.grey), entry.flow_hole)
        if entry.backward is None and entry.linked_back and position > 0:
            previous = self._entries[position - 1]
            entry.backward = complete_flow(self._calc(entry.grey, previous.grey), entry.flow_hole)
        return entry.forward, entry.backward

    def _mask_of(self, entry: _Entry) -> Mask:
        if self._union is None:
            return entry.mask
        if self.fallback_mask is not None and not self._union.any():
            return self.fallback_mask
        return self._union

    def _fill_next(self) -> FilledFrame:
        position = len(self._entries) - self._pending
        self._pending -= 1
        entry = self._entries[position]
        motion = self.organizer.kind(entry.segment)
        mask = self._mask_of(entry)
        if not mask.any():
            self._previous_output, self._previous_mask = entry.frame.image, mask
            return FilledFrame(entry.frame, entry.frame.image, mask, FillCounts(), motion)
        image, counts = self._fill(position, mask, motion)
        self._previous_output, self._previous_mask = image, mask
        return FilledFrame(entry.frame, image, mask, counts, motion)

    def _not_lending(self, position: int) -> Mask:
        """Return the pixels of the frame at ``position`` that may not lend colour to other frames.

        Its own mask and its neighbours' (same batch): where a detector missed an object on one frame,
        or cut part of it off, the object is still masked on the frames next to it, and is not copied
        into other frames as background.
        """
        entry = self._entries[position]
        if self._union is not None:
            return self._union  # every frame's masks so far, neighbours' included; it grows, so no cache
        following = self._entries[position + 1] if position + 1 < len(self._entries) else None
        has_next = following is not None and following.linked_back
        if entry.lending is not None and (entry.lending_has_next or not has_next):
            return entry.lending
        lending = self._mask_of(entry)
        if entry.linked_back and position > 0:
            lending = lending | self._mask_of(self._entries[position - 1])
        if following is not None and has_next:
            lending = lending | self._mask_of(following)
        entry.lending, entry.lending_has_next = lending, has_next
        return lending

    def _window(self, position: int) -> dict[int, int]:
        """Return offset from ``position`` → position of the frames that may lend it background."""
        segment = self._entries[position].segment
        lo = max(0, position - self.window_radius)
        hi = min(len(self._entries) - 1, position + self.window_radius)
        return {i - position: i for i in range(lo, hi + 1) if self._entries[i].segment == segment}

    def _fill(self, position: int, mask: Mask, motion: CameraMotion) -> tuple[Image, FillCounts]:
        entry = self._entries[position]
        source = entry.frame.image
        ring = _grown(mask, _RING_PX) & ~mask
        my, mx = np.nonzero(mask)
        ry, rx = np.nonzero(ring)
        ys = np.concatenate([my, ry])
        xs = np.concatenate([mx, rx])
        window = self._window(position)
        if motion is CameraMotion.STILL:
            colours, known = self._plate(window, ys, xs)
        else:
            colours, known = self._carry_along_flow(window, ys, xs)
        n = len(my)
        values = colours[:n]
        found = known[:n].copy()
        if found.any() and motion is CameraMotion.MOVING:
            values = values + self._lighting_correction(source, (my, mx), (ry, rx), colours[n:], known[n:])
        if found.any() and motion is CameraMotion.STILL:
            values = self._steadied(values, my, mx, found)
        out = source.copy()
        out[my[found], mx[found]] = np.clip(np.rint(values[found]), 0, 255).astype(np.uint8)
        counts = FillCounts(masked=n, from_other_frames=int(found.sum()))
        carried = self._carry_previous(position, motion, my, mx, ~found)
        if carried is not None:
            got, colour = carried
            out[my[got], mx[got]] = colour
            found[got] = True
            counts.carried = int(got.sum())
        if not found.all():
            counts.spatial = int((~found).sum())
            out = _inpaint(out, my[~found], mx[~found])
        return out, counts

    def _steadied(
        self,
        values: npt.NDArray[np.float32],
        ys: npt.NDArray[np.intp],
        xs: npt.NDArray[np.intp],
        found: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.float32]:
        """Return a still camera's plate colours, keeping the previous output's where they barely differ.

        Each frame's plate is a median over a slightly different set of frames (samples enter and leave
        the window, masks move), so a pixel filled on consecutive frames would jitter by a few levels
        where the real background is steady. A change larger than that (lighting) comes through.
        """
        previous, previous_mask = self._previous_output, self._previous_mask
        if previous is None or previous_mask is None:
            return values
        both = np.flatnonzero(found & previous_mask[ys, xs])
        if not len(both):
            return values
        before = previous[ys[both], xs[both]].astype(np.float32)
        steady = np.abs(values[both] - before).max(axis=1) <= _STEADY_LEVELS
        out = values.copy()
        out[both[steady]] = before[steady]
        return out

    def _plate(
        self, window: dict[int, int], ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        positions = sorted(window.values())
        # Samples on a grid of frame indices fixed for the whole video, so consecutive frames share
        # nearly all of them and the plate changes only when a sample enters or leaves the window.
        stride = -(-len(positions) // self.plate_samples)
        chosen = [p for p in positions if self._entries[p].frame.index % stride == 0]
        values = np.stack([self._entries[p].frame.image[ys, xs] for p in chosen])
        valid = np.stack([~self._not_lending(p)[ys, xs] for p in chosen])
        median, known = masked_median(values, valid)
        return median.astype(np.float32), known

    def _carry_along_flow(
        self, by_offset: dict[int, int], ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        ahead = self._follow(by_offset, ys, xs, step=1)
        behind = self._follow(by_offset, ys, xs, step=-1)
        (colour_a, dist_a), (colour_b, dist_b) = ahead, behind
        got_a, got_b = dist_a > 0, dist_b > 0
        both = got_a & got_b
        # The nearer frame weighs more; blending the two sides hides the seam between them over time.
        w_a = np.where(both, dist_b / np.maximum(dist_a + dist_b, 1), got_a.astype(np.float32))
        colours = w_a[:, None] * colour_a + (1.0 - w_a[:, None]) * colour_b
        return colours.astype(np.float32), got_a | got_b

    def _follow(
        self, by_offset: dict[int, int], ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp], *, step: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Follow each point along the flow to later (step 1) or earlier (-1) frames.

        Returns each point's colour in the first frame where it is not masked and that frame's
        distance in frames (0: not found).
        """
        n = len(ys)
        colour = np.zeros((n, 3), np.float32)
        distance = np.zeros(n, np.float32)
        px, py = xs.astype(np.float32), ys.astype(np.float32)
        active = np.arange(n)
        here = self._entries[by_offset[0]]
        height, width = here.mask.shape
        grid_h, grid_w = here.grey.shape
        sx, sy = grid_w / width, grid_h / height
        offset = 0
        while len(active) and (offset + step) in by_offset:
            forward, backward = self._flows(by_offset[offset])
            target_forward, target_backward = self._flows(by_offset[offset + step])
            target = self._entries[by_offset[offset + step]]
            flow = forward if step > 0 else backward
            back = target_backward if step > 0 else target_forward
            if flow is None or back is None:
                break
            offset += step
            gx, gy = (px[active] + 0.5) * sx - 0.5, (py[active] + 0.5) * sy - 0.5
            f = sample_at(flow, gx, gy)
            b = sample_at(back, gx + f[:, 0], gy + f[:, 1])
            error = np.hypot(f[:, 0] + b[:, 0], f[:, 1] + b[:, 1])
            consistent = error <= _CONSISTENCY_PX + _CONSISTENCY_RATIO * np.hypot(f[:, 0], f[:, 1])
            nx, ny = px[active] + f[:, 0] / sx, py[active] + f[:, 1] / sy
            inside = (nx >= 0) & (nx <= width - 1) & (ny >= 0) & (ny <= height - 1)
            alive = consistent & inside
            active, nx, ny = active[alive], nx[alive], ny[alive]
            px[active], py[active] = nx, ny
            target_mask = self._not_lending(by_offset[offset])
            hidden = target_mask[np.rint(ny).astype(np.intp), np.rint(nx).astype(np.intp)]
            seen = ~hidden
            if seen.any():
                got = active[seen]
                colour[got] = sample_at(target.frame.image, nx[seen], ny[seen])
                distance[got] = abs(offset)
            active = active[hidden]
        return colour, distance

    def _lighting_correction(
        self,
        image: Image,
        hole: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
        ring: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
        ring_fill: npt.NDArray[np.float32],
        ring_known: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.float32]:
        """Return, for each hole pixel, the frame-minus-fill difference on the ring spread smoothly inward."""
        (hy, hx), (ry, rx) = hole, ring
        if not ring_known.any():
            return np.zeros((len(hy), 3), np.float32)
        ry, rx = ry[ring_known], rx[ring_known]
        difference = image[ry, rx].astype(np.float32) - ring_fill[ring_known]
        y0, y1 = int(min(hy.min(), ry.min())), int(max(hy.max(), ry.max())) + 1
        x0, x1 = int(min(hx.min(), rx.min())), int(max(hx.max(), rx.max())) + 1
        values = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        known = np.zeros((y1 - y0, x1 - x0), np.bool_)
        values[ry - y0, rx - x0] = difference
        known[ry - y0, rx - x0] = True
        # Each ring pixel's difference carries that pixel's noise; only the smooth part is lighting.
        spread = cv2.GaussianBlur(smooth_fill(values, known), (0, 0), _CORRECTION_SIGMA_PX)
        correction: npt.NDArray[np.float32] = np.clip(
            spread[hy - y0, hx - x0], -_MAX_CORRECTION, _MAX_CORRECTION
        )
        return correction

    def _carry_previous(
        self,
        position: int,
        motion: CameraMotion,
        ys: npt.NDArray[np.intp],
        xs: npt.NDArray[np.intp],
        wanted: npt.NDArray[np.bool_],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8]] | None:
        """Return which wanted points the previous output frame fills, and their colours."""
        previous = self._previous_output
        if previous is None or not wanted.any():
            return None
        idx = np.flatnonzero(wanted)
        px, py = xs[idx].astype(np.float32), ys[idx].astype(np.float32)
        if motion is CameraMotion.MOVING:
            entry = self._entries[position]
            backward = self._flows(position)[1]
            if backward is None:
                return None
            height, width = entry.mask.shape
            sx, sy = entry.grey.shape[1] / width, entry.grey.shape[0] / height
            f = sample_at(backward, (px + 0.5) * sx - 0.5, (py + 0.5) * sy - 0.5)
            px, py = px + f[:, 0] / sx, py + f[:, 1] / sy
            inside = (px >= 0) & (px <= width - 1) & (py >= 0) & (py <= height - 1)
            idx, px, py = idx[inside], px[inside], py[inside]
        if self._previous_mask is not None and position > 0:
            # A still object's union of masks grows as frames arrive: what the previous output shows
            # unfilled where that frame's mask now reaches is the object, not background to carry.
            ry, rx = np.rint(py).astype(np.intp), np.rint(px).astype(np.intp)
            shown = self._mask_of(self._entries[position - 1])[ry, rx] & ~self._previous_mask[ry, rx]
            idx, px, py = idx[~shown], px[~shown], py[~shown]
        got = np.zeros(len(ys), np.bool_)
        got[idx] = True
        colour = np.clip(np.rint(sample_at(previous, px, py)), 0, 255).astype(np.uint8)
        return got, colour


def _shrunk(mask: Mask, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Return ``mask`` on a smaller grid: a cell is set when any of its pixels is."""
    if mask.shape == shape[:2]:
        return mask.copy()
    small = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    out: npt.NDArray[np.bool_] = small > 0
    return out


def _grown(mask: npt.NDArray[np.bool_], radius_px: int) -> npt.NDArray[np.bool_]:
    if radius_px <= 0 or not mask.any():
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    out: npt.NDArray[np.bool_] = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    return out


def _inpaint(image: Image, ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp]) -> Image:
    """Return ``image`` with the given pixels filled from their surroundings (OpenCV Telea)."""
    height, width = image.shape[:2]
    pad = 2 * _INPAINT_RADIUS_PX + 2
    y0, y1 = max(0, int(ys.min()) - pad), min(height, int(ys.max()) + pad + 1)
    x0, x1 = max(0, int(xs.min()) - pad), min(width, int(xs.max()) + pad + 1)
    hole = np.zeros((y1 - y0, x1 - x0), np.uint8)
    hole[ys - y0, xs - x0] = 255
    out = image.copy()
    patch = np.ascontiguousarray(out[y0:y1, x0:x1])
    out[y0:y1, x0:x1] = cv2.inpaint(patch, hole, _INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)
    return out
