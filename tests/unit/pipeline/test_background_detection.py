"""Live input's detection frame detection on its own thread: frames go on while the detector works."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_temporal import face, keep_all, settings, textured_frame

from veil.detections import Detections
from veil.errors import PrivacyError
from veil.pipeline.background_detection import BackgroundDetection
from veil.pipeline.config import FailMode
from veil.pipeline.temporal import ScheduledFrame, TemporalEngine
from veil.types import Frame, Image


class GatedDetect:
    """Find the face at once on frame 0 and after a scene cut; on other frames only once released."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.fail = fail
        self.asked: list[int] = []

    def __call__(self, image: Image, index: int) -> Detections:
        self.asked.append(index)
        if index > 0 and image.mean() > 10:  # the black frame of the scene-cut test passes at once
            assert self.release.wait(10), "never released"
            if self.fail:
                raise RuntimeError("model crashed")
        return face()


def observe_until_landed(detection: BackgroundDetection, start: int) -> ScheduledFrame:
    """Feed frames from ``start`` until a detection lands with one; return that frame's outcome."""
    for index in range(start, start + 500):
        item = detection.observe(textured_frame(index))
        if item.found is not None or item.failed:
            return item
        time.sleep(0.01)
    raise AssertionError("no detection landed")


def test_the_first_frame_waits_for_its_detection() -> None:
    detection = BackgroundDetection(GatedDetect(), keep_all, settings(detect_every=3))
    first = detection.observe(textured_frame(0))
    assert first.found is not None and len(first.found) == 1
    assert first.found_on is None
    detection.close()


def test_a_detection_frame_does_not_hold_up_the_frames_after_it() -> None:
    detect = GatedDetect()
    detection = BackgroundDetection(detect, keep_all, settings(detect_every=3))
    detection.observe(textured_frame(0))
    # Frame 3 is a detection frame; its detector blocks until released, yet frames 3 to 6 come back at once.
    for index in range(1, 7):
        item = detection.observe(textured_frame(index))
        assert item.found is None and not item.failed
    assert detect.asked == [0, 3]  # one detection at a time: no new detection frame while one runs
    detect.release.set()
    landed = observe_until_landed(detection, 7)
    assert landed.found_on == 3
    assert landed.frame.index >= 7
    assert detection.frames_detected == 2
    detection.close()


def test_a_failed_background_detection_aborts_with_the_frame_it_lands_on() -> None:
    detect = GatedDetect(fail=True)
    detection = BackgroundDetection(detect, keep_all, settings(detect_every=2))
    detection.observe(textured_frame(0))
    detection.observe(textured_frame(1))
    detection.observe(textured_frame(2))
    detect.release.set()
    with pytest.raises(PrivacyError):
        observe_until_landed(detection, 3)
    detection.close()


def test_in_hide_frame_mode_the_landing_frame_is_marked_failed() -> None:
    detect = GatedDetect(fail=True)
    detection = BackgroundDetection(detect, keep_all, settings(detect_every=2), FailMode.HIDE_FRAME)
    detection.observe(textured_frame(0))
    detection.observe(textured_frame(1))
    detection.observe(textured_frame(2))
    detect.release.set()
    landed = observe_until_landed(detection, 3)
    assert landed.failed and landed.found is None and landed.found_on == 2
    detection.close()


def test_a_scene_cut_is_detected_in_line_and_drops_the_old_scenes_detection() -> None:
    detect = GatedDetect()
    detection = BackgroundDetection(detect, keep_all, settings(detect_every=2))
    detection.observe(textured_frame(0))
    detection.observe(textured_frame(1))
    detection.observe(textured_frame(2))  # handed to the worker, blocked
    detect.release.set()
    cut = detection.observe(Frame(np.zeros_like(textured_frame(3).image), 3))
    assert cut.scene_cut
    assert cut.found is not None and cut.found_on is None
    assert detect.asked == [0, 2, 3]
    detection.close()


def test_an_engine_with_background_detection_hides_the_face_on_every_frame() -> None:
    detect = GatedDetect()
    detect.release.set()
    temporal = settings(detect_every=3, lookahead_frames=0)
    engine = TemporalEngine(
        detect, keep_all, temporal, detection=BackgroundDetection(detect, keep_all, temporal)
    )
    out = []
    for index in range(30):
        out.extend(engine.push(textured_frame(index)))
        time.sleep(0.005)
    out.extend(engine.flush())
    engine.close()
    assert [item.frame.index for item in out] == list(range(30))
    assert all(item.regions is not None and len(item.regions) == 1 for item in out)
    assert engine.frames_detected > 3
