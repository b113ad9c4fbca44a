"""Compute, frame by frame, the mask of everything to remove, failing closed when it cannot."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import PrivacyError, VeilError
from veil.geometry import scale_boxes
from veil.propagation.gap_fill import LookAheadGapFiller
from veil.propagation.motion import MotionFallback
from veil.propagation.optical_flow import FlowPropagator
from veil.removal.masks import boxes_mask, grow, in_box, region_masks, select_regions, shadow_margin
from veil.removal.settings import RemovalSettings
from veil.types import Frame, Mask

__all__ = ["FrameMask", "MaskSource"]

_log = logging.getLogger(__name__)

# Moving foreground counts for a chosen track when it touches the track's box grown by this share.
_TRACK_MOTION_MARGIN = 0.25


@dataclass(frozen=True)
class FrameMask:
    """A frame, the pixels to remove on it, and whether it starts a new scene."""

    frame: Frame
    mask: Mask
    cut: bool


class MaskSource:
    """Return the pixels to remove on each frame, in order, ``settings.lookahead_frames`` frames late.

    Regions come from ``detector`` (every ``settings.detect_every`` frames, carried in between and held
    through misses by optical flow, which also gives them track ids) or, when ``regions`` is given,
    from a detections file. Frames then wait for their future: a track is also removed on the frames
    before its first sighting and between two sightings (an object entering the picture is found a
    few frames after it appears). Their silhouettes (boxes, grown by ``settings.box_margin_ratio``,
    where they have none) are joined with moving foreground no region explains, restricted to
    ``settings.track_id`` or ``settings.box_xyxy``, grown by a shadow margin and dilated.

    Args:
        settings: what to remove.
        detector: finds the target classes; needed unless ``regions`` is given.
        regions: frame index → regions (with track ids), e.g. from a detections JSON.
        still_object: the object does not move: skip moving foreground; a frame where nothing is found
            inside ``settings.box_xyxy`` removes nothing (the filler's union of masks covers it).
        camera_moving: asked as each frame's mask is made whether the camera moves (which of the two
            moving-foreground models applies); default: never.

    Raises:
        PrivacyError: (from :meth:`push`, :meth:`flush`) a frame's regions cannot be computed or are
            missing.
    """

    def __init__(
        self,
        settings: RemovalSettings,
        *,
        detector: Detector | None = None,
        regions: Mapping[int, Detections] | None = None,
        still_object: bool = False,
        camera_moving: Callable[[], bool] | None = None,
    ) -> None:
        if detector is None and regions is None:
            raise ValueError("MaskSource needs a detector or regions")
        self.settings = settings
        self.still_object = still_object
        self._detector = detector
        self._regions = regions
        self._camera_moving = camera_moving or (lambda: False)
        self._propagator = FlowPropagator(flow_long_side_px=settings.flow_long_side_px)
        # The propagator holds tracks through misses along the flow; the filler adds what it cannot:
        # the frames before a track's first sighting.
        self._gaps = LookAheadGapFiller(settings.lookahead_frames, hold_frames=0)
        self._waiting: deque[tuple[Frame, bool]] = deque()
        use_motion = settings.motion and not still_object
        self._still_motion = MotionFallback(static_camera=True) if use_motion else None
        self._moving_motion = MotionFallback(static_camera=False) if use_motion else None
        self.frames_detected = 0

    def push(self, frame: Frame, *, cut: bool = False) -> list[FrameMask]:
        """Add the next frame (``cut``: it starts a new scene); return the frames whose masks are ready."""
        with _failing_closed(frame.index):
            if cut:
                self._propagator.reset()
            self._waiting.append((frame, cut))
            ready = self._gaps.push(frame.index, self._regions_of(frame), scene_cut=cut)
            return [self._finish(index, found) for index, found in ready]

    def flush(self) -> list[FrameMask]:
        """Return the masks of every frame still waiting (call once, after the last push)."""
        index = self._waiting[0][0].index if self._waiting else -1
        with _failing_closed(index):
            return [self._finish(i, found) for i, found in self._gaps.flush()]

    def _finish(self, index: int, regions: Detections) -> FrameMask:
        frame, cut = self._waiting.popleft()
        assert frame.index == index, "the gap filler returns frames in the order they came"
        return FrameMask(frame, self._mask(frame, regions, cut=cut), cut)

    def _mask(self, frame: Frame, regions: Detections, *, cut: bool) -> Mask:
        settings = self.settings
        frame_hw = (int(frame.image.shape[0]), int(frame.image.shape[1]))
        if cut:
            for fallback in (self._still_motion, self._moving_motion):
                if fallback is not None:
                    fallback.reset()
        if settings.box_xyxy is not None:
            regions = in_box(regions, settings.box_xyxy)
        if settings.box_margin_ratio and len(regions):
            regions = regions.with_boxes(scale_boxes(regions.boxes_xyxy, settings.box_margin_ratio))
        mask = np.zeros(frame_hw, np.bool_)
        if len(regions):
            silhouettes = region_masks(regions, frame_hw, silhouettes=settings.silhouettes)
            mask |= silhouettes.any(axis=0)
            mask |= shadow_margin(silhouettes, regions.boxes_xyxy, settings.shadow_margin_ratio)
        mask |= self._moving_foreground(frame, regions, frame_hw, self._camera_moving())
        if settings.box_xyxy is not None:
            mask &= boxes_mask(np.array([settings.box_xyxy], np.float32), frame_hw)
        return grow(mask, settings.dilation_px(frame_hw))

    def _regions_of(self, frame: Frame) -> Detections:
        settings = self.settings
        if self._regions is not None:
            try:
                found = self._regions[frame.index]
            except KeyError:
                raise PrivacyError(
                    f"frame {frame.index} is missing from the detections file: every frame must be listed"
                ) from None
            return select_regions(found, settings.targets, settings.score_threshold, settings.track_id)
        assert self._detector is not None
        detections: Detections | None = None
        if frame.index % settings.detect_every == 0:
            detections = select_regions(
                self._detector.detect(frame.image), settings.targets, settings.score_threshold
            )
            self.frames_detected += 1
        tracked = self._propagator.update(frame, detections)
        if settings.track_id is None:
            return tracked
        return select_regions(tracked, settings.targets, 0.0, settings.track_id)

    def _moving_foreground(
        self, frame: Frame, regions: Detections, frame_hw: tuple[int, int], moving_camera: bool
    ) -> Mask:
        if self._still_motion is None or self._moving_motion is None:
            return np.zeros(frame_hw, np.bool_)
        # Both models watch every frame, so each is ready when the camera starts or stops moving.
        still_blobs = self._still_motion.update(frame, regions)
        moving_blobs = self._moving_motion.update(frame, regions)
        blobs = moving_blobs if moving_camera else still_blobs
        if not len(blobs):
            return np.zeros(frame_hw, np.bool_)
        if self.settings.track_id is not None:
            if not len(regions):
                return np.zeros(frame_hw, np.bool_)
            near = boxes_mask(scale_boxes(regions.boxes_xyxy, _TRACK_MOTION_MARGIN), frame_hw)
            touching = [bool(near[m].any()) for m in region_masks(blobs, frame_hw)]
            blobs = blobs[np.array(touching, np.bool_)]
        if len(blobs):
            _log.debug("frame %d: %d moving blobs no region explains", frame.index, len(blobs))
        return boxes_mask(blobs.boxes_xyxy, frame_hw)


@contextmanager
def _failing_closed(index: int) -> Iterator[None]:
    """Turn an unexpected error while making masks into a PrivacyError: nothing may be written."""
    try:
        yield
    except VeilError:
        raise
    except Exception as exc:
        raise PrivacyError(
            f"frame {index}: the mask of what to remove could not be computed ({exc!r}); nothing was written"
        ) from exc
