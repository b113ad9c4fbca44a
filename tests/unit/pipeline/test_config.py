from __future__ import annotations

import pytest

from veil.errors import ConfigError
from veil.pipeline.config import (
    DetectionConfig,
    EncoderConfig,
    Method,
    PipelineConfig,
    PrivacyPolicy,
    RunOptions,
)
from veil.types import ObjectClass


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: PrivacyPolicy(margin_ratio=-0.1), "margin_ratio"),
        (lambda: PrivacyPolicy(score_thresholds={ObjectClass.FACE: 1.5}), "score_thresholds"),
        (lambda: DetectionConfig(detect_long_side_px=10), "detect_long_side_px"),
        (lambda: EncoderConfig(crf=99), "crf"),
        (lambda: PipelineConfig(targets=frozenset()), "targets"),
        (lambda: PipelineConfig(max_pixels=0), "max_pixels"),
        (
            lambda: RunOptions(detect_only=True, from_detections=__import__("pathlib").Path("x")),
            "detect_only",
        ),
    ],
)
def test_invalid_values_name_the_field(build: object, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        build()  # type: ignore[operator]


def test_defaults_favour_faces_and_plates_with_blur() -> None:
    config = PipelineConfig()
    assert config.targets == {ObjectClass.FACE, ObjectClass.LICENSE_PLATE}
    assert config.method_for(ObjectClass.FACE) is Method.BLUR
    assert PipelineConfig(methods={ObjectClass.FACE: Method.MASK}).method_for(ObjectClass.FACE) is Method.MASK
    assert config.policy.propagated_margin_ratio > config.policy.margin_ratio
