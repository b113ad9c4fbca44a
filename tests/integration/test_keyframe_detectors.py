"""The still-image and video-keyframe detectors a privacy level builds, on the real models."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from veil.api import open_pipeline
from veil.detection import registry
from veil.detection.centerface import CenterFaceDetector
from veil.detections import Detections
from veil.pipeline.choices import UserChoices
from veil.pipeline.privacy_level import PrivacyLevel
from veil.types import Image

pytestmark = pytest.mark.integration


@pytest.fixture
def centerface_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count CenterFace runs and model loads per backend name."""
    counts: Counter[str] = Counter()
    real_detect = CenterFaceDetector.detect
    real_create = registry.create_backend

    def detect(self: CenterFaceDetector, image: Image) -> Detections:
        counts["centerface runs"] += 1
        return real_detect(self, image)

    def create(name: str, *args: object, **kwargs: object) -> object:
        counts[f"load {name}"] += 1
        return real_create(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CenterFaceDetector, "detect", detect)
    monkeypatch.setattr(registry, "create_backend", create)
    return counts


def _frames(count: int) -> list[Image]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(count)]


def test_standard_video_keyframes_run_yunet_alone_and_stills_both(
    models_dir: Path, centerface_calls: Counter[str]
) -> None:
    config = UserChoices(models_dir=models_dir, privacy=PrivacyLevel.STANDARD).to_config()
    with open_pipeline(config) as pipeline:
        list(pipeline.anonymize_frames(_frames(6)))
        assert centerface_calls["centerface runs"] == 0
        pipeline.process(_frames(1)[0])
        assert centerface_calls["centerface runs"] == 1
    # Both detectors share one copy of each model.
    assert centerface_calls["load yunet"] == 1
    assert centerface_calls["load lpd_yunet"] == 1


@pytest.mark.parametrize("level", [PrivacyLevel.STRICT, PrivacyLevel.GUARANTEE])
def test_strict_levels_ask_centerface_on_every_keyframe(
    level: PrivacyLevel, models_dir: Path, centerface_calls: Counter[str]
) -> None:
    config = UserChoices(models_dir=models_dir, privacy=level).to_config()
    with open_pipeline(config) as pipeline:
        engine_frames = list(pipeline.anonymize_frames(_frames(6)))
    assert len(engine_frames) == 6
    expected_keyframes = 6 // config.temporal.detect_every
    assert centerface_calls["centerface runs"] >= expected_keyframes
