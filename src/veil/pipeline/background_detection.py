"""Detection on its own thread for live input, so no frame waits for the detector."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from veil.detections import Detections
from veil.pipeline.config import FailMode, TemporalConfig
from veil.pipeline.temporal import Detect, GuardedDetector, ScheduledFrame, Select
from veil.propagation.scene_cut import SceneCutDetector
from veil.propagation.schedule import DetectionSchedule
from veil.types import Frame

__all__ = ["BackgroundDetection"]

_log = logging.getLogger(__name__)


class BackgroundDetection:
    """The engine's detection half for live input: the detector runs beside the stream, not in it.

    A detection frame the schedule picks is handed to a worker thread when that is idle (else the next frames
    are offered until it is); frames go on meanwhile with the regions optical flow carries, and the
    detections come back with a later frame (:attr:`ScheduledFrame.found_on` names the frame they were
    found on), to be carried forward from there. A 720p detection frame's ~90 ms of detection then no longer
    holds up the frames behind it, which a live stream at 30 frames/s cannot afford.

    Fails closed where waiting is the only safe choice: the first frame and every scene cut are
    detected in line (nothing carried fits a new scene, so those frames wait). A detector failure
    surfaces with the frame it lands on: under ``FailMode.ABORT`` it raises there; under
    ``HIDE_FRAME`` that frame is hidden whole (the detection frame itself has left already, with the
    carried regions every frame between detection frames gets).
    """

    def __init__(
        self, detect: Detect, select: Select, settings: TemporalConfig, fail_mode: FailMode = FailMode.ABORT
    ) -> None:
        self._detector = GuardedDetector(detect, select, fail_mode)
        self._scenes = SceneCutDetector(settings.scene_cut_threshold)
        self._schedule = DetectionSchedule(settings.detect_every, settings.change_threshold)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veil-detection")
        self._pending: tuple[int, Future[Detections | None]] | None = None
        self._scene_started = False

    @property
    def frames_detected(self) -> int:
        """Frames the detector ran on successfully so far."""
        return self._detector.frames_detected

    def observe(self, frame: Frame) -> ScheduledFrame:
        """Offer ``frame`` to the detector; return it with any detections that have landed meanwhile."""
        change = self._scenes.observe(frame.image)
        if change.cut or not self._scene_started:
            self._discard_pending()
            self._schedule.reset()
            self._schedule.should_detect(frame.index, change.change_score, scene_cut=True)
            found = self._detector.run(frame)
            self._scene_started = True
            return ScheduledFrame(frame, change.cut, found=found, failed=found is None)
        landed = self._landed()
        if self._pending is None and self._schedule.should_detect(frame.index, change.change_score):
            self._pending = (frame.index, self._worker.submit(self._detector.run, frame))
        if landed is None:
            return ScheduledFrame(frame, scene_cut=False, found=None, failed=False)
        found_on, found = landed
        return ScheduledFrame(frame, scene_cut=False, found=found, failed=found is None, found_on=found_on)

    def reset(self) -> None:
        """Forget the stream so far (a detection still running is waited for and dropped)."""
        self._discard_pending()
        self._scenes.reset()
        self._schedule.reset()
        self._scene_started = False

    def close(self) -> None:
        """Stop the worker thread."""
        self.reset()
        self._worker.shutdown(wait=True)

    def _landed(self) -> tuple[int, Detections | None] | None:
        """Return (frame index, detections or None if failed) of a finished detection, once."""
        if self._pending is None or not self._pending[1].done():
            return None
        index, future = self._pending
        self._pending = None
        return index, future.result()  # re-raises the PrivacyError of FailMode.ABORT here

    def _discard_pending(self) -> None:
        """Wait for a running detection and drop it (its scene is over); a FailMode.ABORT error raises."""
        if self._pending is not None:
            index, future = self._pending
            self._pending = None
            future.result()
            _log.debug("dropped the detection of frame %d with its scene", index)
