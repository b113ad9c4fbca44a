from __future__ import annotations

import numpy as np
import pytest

from veil.anonymizers.fake import RecordingAnonymizer
from veil.detection.fake import FailingDetector, FakeDetector
from veil.detections import Detections
from veil.errors import PrivacyError, UnsupportedFrameError
from veil.pipeline.config import FailMode, PipelineConfig, PrivacyPolicy
from veil.pipeline.frame_processor import FrameProcessor
from veil.types import ObjectClass, Origin

FACE = Detections.create([[10, 10, 30, 30]], [0.9], ObjectClass.FACE)


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)


def test_detected_regions_are_hidden_and_input_untouched() -> None:
    image = _image()
    before = image.copy()
    processor = FrameProcessor(PipelineConfig(), FakeDetector(FACE), RecordingAnonymizer())
    result = processor.process(image)
    np.testing.assert_array_equal(image, before)
    assert not result.hidden_whole
    assert (result.image[12:28, 12:28] == (255, 0, 255)).all()
    assert len(result.detections) == 1


def test_non_target_classes_are_ignored() -> None:
    text = Detections.create([[10, 10, 30, 30]], [0.9], ObjectClass.TEXT)
    processor = FrameProcessor(PipelineConfig(), FakeDetector(text), RecordingAnonymizer())
    result = processor.process(_image())
    assert len(result.detections) == 0
    np.testing.assert_array_equal(result.image, _image())


def test_detector_error_aborts_by_default() -> None:
    processor = FrameProcessor(
        PipelineConfig(), FailingDetector(RuntimeError("onnx boom")), RecordingAnonymizer()
    )
    with pytest.raises(PrivacyError, match=r"frame 7.*onnx boom"):
        processor.process(_image(), 7)


def test_hide_frame_mode_never_returns_the_raw_frame() -> None:
    config = PipelineConfig(policy=PrivacyPolicy(fail_mode=FailMode.HIDE_FRAME))
    processor = FrameProcessor(config, FailingDetector(RuntimeError("boom")), RecordingAnonymizer())
    image = _image()
    result = processor.process(image)
    assert result.hidden_whole
    # Every pixel changed: a noise image hidden whole keeps nothing of its detail.
    assert (result.image != image).any(axis=2).mean() > 0.95


def test_given_regions_replace_the_detector_and_low_score_reviewed_regions_count() -> None:
    reviewed = Detections.create([[0, 0, 20, 20]], [0.01], ObjectClass.FACE, origin=Origin.REVIEWED)
    processor = FrameProcessor(PipelineConfig(), None, RecordingAnonymizer())
    result = processor.process(_image(), given=reviewed)
    assert (result.image[2:18, 2:18] == (255, 0, 255)).all()


def test_no_detector_and_no_regions_is_a_privacy_error() -> None:
    processor = FrameProcessor(PipelineConfig(), None, RecordingAnonymizer())
    with pytest.raises(PrivacyError, match="no detector"):
        processor.process(_image())


@pytest.mark.parametrize("shape", [(0, 10, 3), (10, 0, 3), (10, 10), (10, 10, 4)])
def test_bad_frames_are_refused(shape: tuple[int, ...]) -> None:
    processor = FrameProcessor(PipelineConfig(), FakeDetector(FACE), RecordingAnonymizer())
    with pytest.raises(UnsupportedFrameError):
        processor.process(np.zeros(shape, np.uint8))
