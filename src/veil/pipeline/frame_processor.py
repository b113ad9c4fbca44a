"""Detect, select and hide the regions of one frame, failing closed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from veil.anonymizers.base import Anonymizer
from veil.anonymizers.registry import hide_whole_frame
from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import PrivacyError, UnsupportedFrameError, VeilError
from veil.pipeline.config import FailMode, PipelineConfig
from veil.pipeline.policy import apply_policy
from veil.types import Image

__all__ = ["FrameProcessor", "ProcessedFrame"]

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


class FrameProcessor:
    """Run one frame through detect → policy → anonymize.

    A detector or anonymizer error either raises :class:`PrivacyError` (``FailMode.ABORT``) or hides
    the whole frame (``FailMode.HIDE_FRAME``); the raw frame is never returned.
    """

    def __init__(self, config: PipelineConfig, detector: Detector | None, anonymizer: Anonymizer) -> None:
        self.config = config
        self._detector = detector
        self._anonymizer = anonymizer

    def detect(self, image: Image, index: int = 0) -> Detections:
        """Return the target regions found in ``image`` (before margins)."""
        if self._detector is None:
            raise PrivacyError("no detector is configured and no detections were given for this frame")
        _check_image(image)
        return self._detector.detect(image).of_class(*self.config.targets)

    def process(self, image: Image, index: int = 0, given: Detections | None = None) -> ProcessedFrame:
        """Return ``image`` anonymized; ``given`` regions replace the detector (the review loop)."""
        _check_image(image)
        try:
            found = self.detect(image, index) if given is None else given.of_class(*self.config.targets)
            selected = apply_policy(found, self.config.policy, self.config.targets, image.shape[:2])
            hidden = self._anonymizer.apply(image, selected)
        except Exception as exc:
            if self.config.policy.fail_mode is FailMode.ABORT:
                kind = "" if isinstance(exc, VeilError) else f"{type(exc).__name__}: "
                raise PrivacyError(
                    f"frame {index}: anonymization failed ({kind}{exc}); nothing written"
                ) from exc
            _log.warning("frame %d hidden whole after failure: %s", index, exc)
            return ProcessedFrame(hide_whole_frame(image), Detections.empty(), hidden_whole=True)
        return ProcessedFrame(hidden, found, hidden_whole=False)


def _check_image(image: Image) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype.name != "uint8":
        raise UnsupportedFrameError(
            f"expected an H×W×3 uint8 RGB image, got shape {image.shape} {image.dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise UnsupportedFrameError(f"zero-size frame {image.shape[1]}×{image.shape[0]}")
