from __future__ import annotations

import pytest

from veil.errors import ConfigError
from veil.pipeline.choices import UserChoices, parse_methods, parse_targets
from veil.pipeline.config import FailMode, Method
from veil.pipeline.privacy_level import PrivacyLevel, preset_for
from veil.types import ObjectClass


@pytest.mark.parametrize("level", list(PrivacyLevel))
def test_a_level_alone_gives_its_preset(level: PrivacyLevel) -> None:
    preset = preset_for(level)
    config = UserChoices(privacy=level).to_config()
    assert config.temporal == preset.temporal
    assert config.policy.margin_ratio == preset.margin_ratio
    assert dict(config.policy.score_thresholds) == dict(preset.score_thresholds)
    assert config.detection.detect_long_side_px == preset.detect_long_side_px


def test_single_settings_override_the_level() -> None:
    config = UserChoices(
        privacy=PrivacyLevel.STRICT,
        thresholds="face=0.6",
        margin=0.1,
        detect_every=7,
        lookahead_frames=0,
        detect_size=640,
        on_error=FailMode.HIDE_FRAME,
    ).to_config()
    assert config.policy.score_thresholds[ObjectClass.FACE] == pytest.approx(0.6)
    assert config.policy.score_thresholds[ObjectClass.LICENSE_PLATE] == pytest.approx(0.4)  # strict's
    assert (config.policy.margin_ratio, config.policy.propagated_margin_ratio) == (0.1, 0.2)
    assert config.temporal.detect_every == 7
    assert config.temporal.lookahead_frames == 0
    assert config.temporal.hold_frames == preset_for(PrivacyLevel.STRICT).temporal.hold_frames
    assert config.detection.detect_long_side_px == 640
    assert config.policy.fail_mode is FailMode.HIDE_FRAME


def test_methods_per_class_and_bare() -> None:
    assert parse_methods("face=blur,plate=pixelate") == {
        ObjectClass.FACE: Method.BLUR,
        ObjectClass.LICENSE_PLATE: Method.PIXELATE,
    }
    assert parse_methods("mask") == dict.fromkeys(ObjectClass, Method.MASK)


@pytest.mark.parametrize("field", ["targets", "methods", "thresholds"])
def test_an_empty_text_is_an_error_not_the_default(field: str) -> None:
    with pytest.raises(ConfigError, match=r"no .* given"):
        UserChoices(**{field: ""}).to_config()


def test_texts_are_parsed_and_bad_ones_named() -> None:
    config = UserChoices(targets="face,person", methods="person=mask").to_config()
    assert config.targets == {ObjectClass.FACE, ObjectClass.PERSON}
    assert config.methods == {ObjectClass.PERSON: Method.MASK}
    with pytest.raises(ConfigError, match="valid classes"):
        parse_targets("face,dog")
    with pytest.raises(ConfigError, match="no target"):
        parse_targets(" , ")
    with pytest.raises(ConfigError, match="'face=smudge'"):
        parse_methods("face=smudge")
    with pytest.raises(ConfigError, match="threshold"):
        UserChoices(thresholds="face=2").to_config()
