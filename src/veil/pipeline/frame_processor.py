"""Detect, select and hide the regions of one frame, failing closed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Protocol

from veil.anonymizers.base import Anonymizer
from veil.anonymizers.registry import hide_whole_frame
from veil.checks import require_rgb
from veil.detection.base import Detector
from veil.detection.timing import DetectorTimes
from veil.detections import Detections
from veil.errors import PrivacyError
from veil.pipeline.background_detection import BackgroundDetection
from veil.pipeline.config import PipelineConfig
from veil.pipeline.failure import fail_closed
from veil.pipeline.policy import apply_policy, select_regions
from veil.pipeline.temporal import FrameRegions, TemporalEngine
from veil.types import Frame, Image

__all__ = ["FrameProcessor", "ProcessedFrame", "WholeFrameEngine", "WholeFrameMethod"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessedFrame:
    """The anonymized image and what was found.

    ``detections`` are the regions as detected (before margins), ready for the detections JSON;
    ``hidden_whole`` is True when a failure made the whole frame hidden instead.
    """

    image: Image
    detections: Detections
    hidden_whole: bool


class WholeFrameMethod(Protocol):
    """A method that transforms every frame whole, with no detection (the learned obfuscator)."""

    def apply(self, image: Image) -> Image:
        """Return a transformed copy of ``image``; ``image`` itself is unchanged."""
        ...


class FrameProcessor:
    """Run one frame through detect → policy → anonymize.

    A detector or anonymizer error either raises :class:`PrivacyError` (``FailMode.ABORT``) or hides
    the whole frame (``FailMode.HIDE_FRAME``); the raw frame is never returned. Video detection frames may
    use a lighter ``video_detector`` (default: ``detector``). With a ``whole_frame`` method nothing is
    detected: each frame goes through that method whole (given regions, as the review loop and a
    whole-frame engine pass them, are hidden instead). ``detector_times`` sums the time of each
    model backend, when the detectors were built by the registry (for ``--profile``).
    """

    def __init__(
        self,
        config: PipelineConfig,
        detector: Detector | None,
        anonymizer: Anonymizer,
        video_detector: Detector | None = None,
        whole_frame: WholeFrameMethod | None = None,
        *,
        detector_times: DetectorTimes | None = None,
    ) -> None:
        self.config = config
        self.whole_frame = whole_frame
        self._detector = detector
        self._video_detector = video_detector or detector
        self._anonymizer = anonymizer
        self.detector_times = detector_times

    def detect(self, image: Image, index: int = 0) -> Detections:
        """Return the target regions found in still image ``image`` (before margins)."""
        return self._detect_with(self._detector, image)

    def detect_in_video(self, image: Image, index: int = 0) -> Detections:
        """Return the target regions found in video frame ``image`` (before margins)."""
        return self._detect_with(self._video_detector, image)

    def _detect_with(self, detector: Detector | None, image: Image) -> Detections:
        if detector is None:
            raise PrivacyError("no detector is configured and no detections were given for this frame")
        require_rgb(image)
        return detector.detect(image).of_class(*self.config.targets)

    def select(self, detections: Detections) -> Detections:
        """Return the regions of ``detections`` the policy hides, without margins (what tracks follow)."""
        return select_regions(detections, self.config.policy, self.config.targets)

    def temporal_engine(
        self, forward_only: bool = False, background_detection: bool = False
    ) -> TemporalEngine:
        """Return a fresh engine that detects on some frames of a stream and carries regions to the rest.

        ``forward_only`` (live input) drops the lookahead: frames come out as they go in.
        ``background_detection`` (live input) runs the detector on its own thread, so frames do not wait
        for it (:class:`BackgroundDetection`); call the engine's ``close`` when done.
        """
        temporal = self.config.temporal
        if forward_only:
            temporal = replace(temporal, lookahead_frames=0)
        fail_mode = self.config.policy.fail_mode
        detection = None
        if background_detection:
            detection = BackgroundDetection(self.detect_in_video, self.select, temporal, fail_mode)
        return TemporalEngine(self.detect_in_video, self.select, temporal, fail_mode, detection)

    def hide_whole(self, image: Image) -> ProcessedFrame:
        """Return ``image`` hidden whole: what a frame whose detection failed becomes under HIDE_FRAME."""
        require_rgb(image)
        return ProcessedFrame(hide_whole_frame(image), Detections.empty(), hidden_whole=True)

    def anonymize(self, item: FrameRegions) -> ProcessedFrame:
        """Return the frame of ``item`` with its regions hidden, or hidden whole when it has none.

        A frame without regions is one whose detection failed under ``FailMode.HIDE_FRAME``: it is the
        one place that becomes a whole hidden frame, whichever pipeline the frame came through.
        """
        frame = item.frame
        if item.regions is None:
            return self.hide_whole(frame.image)
        return self.process(frame.image, frame.index, item.regions)

    def process(self, image: Image, index: int = 0, given: Detections | None = None) -> ProcessedFrame:
        """Return ``image`` anonymized; ``given`` regions replace the detector (the review loop)."""
        require_rgb(image)
        if self.whole_frame is not None and given is None:
            return self._process_whole(image, index)
        try:
            found = self.detect(image, index) if given is None else given.of_class(*self.config.targets)
            selected = apply_policy(found, self.config.policy, self.config.targets, image.shape[:2])
            hidden = self._anonymizer.apply(image, selected)
        except Exception as exc:
            fail_closed(self.config.policy.fail_mode, index, "anonymization", exc)
            return self.hide_whole(image)
        return ProcessedFrame(hidden, found, hidden_whole=False)

    def _process_whole(self, image: Image, index: int) -> ProcessedFrame:
        assert self.whole_frame is not None
        try:
            transformed = self.whole_frame.apply(image)
        except Exception as exc:
            fail_closed(self.config.policy.fail_mode, index, "whole-frame anonymization", exc)
            return self.hide_whole(image)
        return ProcessedFrame(transformed, Detections.empty(), hidden_whole=False)


class WholeFrameEngine:
    """The engine of a whole-frame method: each frame is transformed here, on the processing thread.

    The writer thread then only encodes (the transformed frame comes with no regions to hide), so the
    network and the encoder run on the two cores side by side. A frame the method failed on under
    ``FailMode.HIDE_FRAME`` goes on without regions and is hidden whole by the writer's stage.
    """

    def __init__(self, processor: FrameProcessor) -> None:
        self._processor = processor

    def push(self, frame: Frame) -> list[FrameRegions]:
        """Return ``frame`` transformed whole, with nothing left to hide on it."""
        result = self._processor.process(frame.image, frame.index)
        if result.hidden_whole:
            return [FrameRegions(frame, None, detected=False)]
        transformed = replace(frame, image=result.image)
        return [FrameRegions(transformed, Detections.empty(), detected=False)]

    def flush(self) -> list[FrameRegions]:
        """Nothing is held back."""
        return []

    def close(self) -> None:
        """Nothing runs beside the engine: there is nothing to stop (the temporal engine's counterpart)."""
