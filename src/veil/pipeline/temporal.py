"""Run the detector on some frames of a stream and carry its regions to every frame, gaps filled."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from veil.detections import Detections
from veil.pipeline.config import FailMode, TemporalConfig
from veil.pipeline.failure import fail_closed
from veil.propagation.base import GapFiller, Propagator
from veil.propagation.crowd import merge_crowds
from veil.propagation.gap_fill import LookAheadGapFiller
from veil.propagation.motion import MotionFallback
from veil.propagation.optical_flow import FlowPropagator
from veil.propagation.scene_cut import SceneCutDetector
from veil.propagation.schedule import DetectionSchedule
from veil.types import Frame, Image

__all__ = [
    "DetectionStage",
    "FrameRegions",
    "GuardedDetector",
    "ScheduledDetector",
    "ScheduledFrame",
    "TemporalEngine",
]

_log = logging.getLogger(__name__)

# Frames remembered for detections that land late: two seconds at 30 fps.
_LATE_HISTORY_FRAMES = 64

Detect = Callable[[Image, int], Detections]
Select = Callable[[Detections], Detections]


@dataclass(frozen=True)
class FrameRegions:
    """A frame ready to be anonymized and the regions to hide on it.

    ``regions`` is ``None`` when the detector failed on this frame and the fail mode asks for the
    whole frame to be hidden. ``detected`` tells whether the detector ran on the frame.
    """

    frame: Frame
    regions: Detections | None
    detected: bool


@dataclass(frozen=True)
class ScheduledFrame:
    """A frame after the schedule: whether it starts a scene, and what the detector found on it.

    ``found`` holds the detections the policy hides when the detector ran and succeeded, else ``None``;
    ``failed`` tells that it ran and failed (the fail mode let the stream go on). ``found_on`` is the
    index of the earlier frame ``found`` belongs to when detection ran on its own thread and landed
    with this frame (``None``: this frame).
    """

    frame: Frame
    scene_cut: bool
    found: Detections | None
    failed: bool
    found_on: int | None = None

    @property
    def detected(self) -> bool:
        """Whether the detector ran on this frame and succeeded."""
        return self.found is not None


class GuardedDetector:
    """Run the detector on one detection frame: keep what the policy hides, count successes, fail closed."""

    def __init__(self, detect: Detect, select: Select, fail_mode: FailMode = FailMode.ABORT) -> None:
        self._detect = detect
        self._select = select
        self._fail_mode = fail_mode
        self.frames_detected = 0

    def run(self, frame: Frame) -> Detections | None:
        """Run the detector on ``frame``; return what the policy hides, or None if it failed.

        Raises:
            PrivacyError: the detector failed under ``FailMode.ABORT``.
        """
        try:
            found = self._select(self._detect(frame.image, frame.index))
        except Exception as exc:
            fail_closed(self._fail_mode, frame.index, "detection", exc)
            return None
        self.frames_detected += 1
        return found


class ScheduledDetector:
    """The first half of the engine: per frame, a scene-cut check, the schedule, and the detector.

    It needs nothing from propagation, so a video run can call :meth:`observe` on its own thread, a few
    frames ahead of the propagating thread: the expensive detections then overlap optical flow,
    anonymization and encoding of the frames before them.
    """

    def __init__(
        self, detect: Detect, select: Select, settings: TemporalConfig, fail_mode: FailMode = FailMode.ABORT
    ) -> None:
        self._detector = GuardedDetector(detect, select, fail_mode)
        self._scenes = SceneCutDetector(settings.scene_cut_threshold)
        self._schedule = DetectionSchedule(settings.detect_every, settings.change_threshold)

    @property
    def frames_detected(self) -> int:
        """Frames the detector ran on successfully so far."""
        return self._detector.frames_detected

    def observe(self, frame: Frame) -> ScheduledFrame:
        """Decide whether the detector runs on ``frame``, run it if so, and return the outcome."""
        change = self._scenes.observe(frame.image)
        if change.cut:
            _log.debug("scene cut at frame %d (score %.2f)", frame.index, change.cut_score)
        if not self._schedule.should_detect(frame.index, change.change_score, change.cut):
            return ScheduledFrame(frame, change.cut, found=None, failed=False)
        found = self._detector.run(frame)
        return ScheduledFrame(frame, change.cut, found=found, failed=found is None)

    def reset(self) -> None:
        """Forget the previous frame and the schedule's count (a new stream starts)."""
        self._scenes.reset()
        self._schedule.reset()

    def close(self) -> None:
        """Nothing to release: the detector runs in the caller's thread."""


class DetectionStage(Protocol):
    """What the engine needs of its detection half: :class:`ScheduledDetector` or a stand-in for it."""

    @property
    def frames_detected(self) -> int:
        """Frames the detector ran on successfully so far."""
        ...

    def observe(self, frame: Frame) -> ScheduledFrame:
        """Schedule ``frame`` and return the detections that are ready with it."""
        ...

    def reset(self) -> None:
        """Forget the stream so far."""
        ...

    def close(self) -> None:
        """Release what it holds (threads)."""
        ...


class TemporalEngine:
    """Turn a stream of frames into (frame, regions to hide) pairs, in order, each frame exactly once.

    Per frame: its :class:`ScheduledDetector` (``detection``) checks for a scene cut and lets the
    :class:`DetectionSchedule` decide whether the detector runs (every ``detect_every`` frames, sooner
    after much change, always on a cut); detections are cut to the ones the policy hides (``select``)
    and handed to the ``propagator`` (default: a :class:`FlowPropagator`, which gives them track ids
    and carries them, by optical flow, onto the frames in between); the optional motion fallback adds
    moving blobs nothing explains; the ``gap_filler`` (default: a :class:`LookAheadGapFiller`) delays
    frames by ``lookahead_frames`` so every track is hidden on each frame between its sightings, before
    its first and ``hold_frames`` after its last; finally crowds are merged. With
    ``lookahead_frames=0`` frames come out as they go in (live input).

    A detector error raises :class:`PrivacyError` under ``FailMode.ABORT``; under ``HIDE_FRAME`` the
    frame comes out with ``regions=None`` (hide it whole) and the stream goes on.

    :meth:`push` runs both halves in the caller's thread; a caller may instead run
    ``detection.observe`` elsewhere and hand its results, in order, to :meth:`push_scheduled`, or
    give a ``detection`` half of its own (live input's :class:`BackgroundDetection`).
    """

    def __init__(
        self,
        detect: Detect,
        select: Select,
        settings: TemporalConfig,
        fail_mode: FailMode = FailMode.ABORT,
        detection: DetectionStage | None = None,
        *,
        propagator: Propagator | None = None,
        gap_filler: GapFiller | None = None,
    ) -> None:
        self.settings = settings
        self.detection: DetectionStage = detection or ScheduledDetector(detect, select, settings, fail_mode)
        # A detection half of the caller's own may hand detections over late: remember frames to carry them.
        self._propagator: Propagator = propagator or FlowPropagator(
            flow_long_side_px=settings.flow_long_side_px,
            hold_frames=settings.hold_frames,
            history_frames=0 if detection is None else _LATE_HISTORY_FRAMES,
        )
        self._motion = (
            MotionFallback(static_camera=settings.static_camera) if settings.motion_fallback else None
        )
        self._filler: GapFiller = gap_filler or LookAheadGapFiller(
            settings.lookahead_frames, settings.hold_frames
        )
        self._waiting: dict[int, tuple[Frame, bool, bool]] = {}  # index → (frame, detected, failed)

    @property
    def frames_detected(self) -> int:
        """Frames the detector ran on successfully so far."""
        return self.detection.frames_detected

    def push(self, frame: Frame) -> list[FrameRegions]:
        """Take the next frame of the stream; return the frames now ready, oldest first."""
        return self.push_scheduled(self.detection.observe(frame))

    def push_scheduled(self, item: ScheduledFrame) -> list[FrameRegions]:
        """Take the next frame as :meth:`ScheduledDetector.observe` returned it; return the ready frames."""
        frame = item.frame
        if item.scene_cut:
            self._propagator.reset()
            if self._motion is not None:
                self._motion.reset()
        regions = self._propagator.update(frame, item.found, detected_on=item.found_on)
        if self._motion is not None:
            regions = Detections.concat([regions, self._motion.update(frame, regions)])
        self._waiting[frame.index] = (frame, item.detected, item.failed)
        return self._ready(self._filler.push(frame.index, regions, scene_cut=item.scene_cut))

    def flush(self) -> list[FrameRegions]:
        """Return every frame still waiting (end of stream); the engine can then start a new stream."""
        ready = self._ready(self._filler.flush())
        self.detection.reset()
        self._propagator.reset()
        if self._motion is not None:
            self._motion.reset()
        return ready

    def close(self) -> None:
        """Release the detection half's threads; call after :meth:`flush` when the engine is done."""
        self.detection.close()

    def _ready(self, filled: list[tuple[int, Detections]]) -> list[FrameRegions]:
        out = []
        for index, regions in filled:
            frame, detected, failed = self._waiting.pop(index)
            if self.settings.crowd_size:
                regions = merge_crowds(regions, crowd_size=self.settings.crowd_size)
            out.append(FrameRegions(frame, None if failed else regions, detected))
        return out
