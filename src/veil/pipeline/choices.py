"""Turn a user's choices, as typed on the command line or sent as form fields, into a PipelineConfig.

The CLI commands and the service all go through here, so a name means the same thing everywhere and a
privacy level expands the same way: the level sets thresholds, margins, detection size and the temporal
schedule, and any single setting given beside it overrides the level's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from veil.errors import ConfigError
from veil.pipeline.config import (
    DEFAULT_TARGETS,
    DetectionConfig,
    Device,
    EncoderConfig,
    FailMode,
    Method,
    PipelineConfig,
)
from veil.pipeline.privacy_level import PrivacyLevel, preset_for
from veil.types import ObjectClass

__all__ = [
    "WHOLE_FRAME_METHOD",
    "UserChoices",
    "parse_class_map",
    "parse_methods",
    "parse_targets",
    "parse_thresholds",
]

V = TypeVar("V")

WHOLE_FRAME_METHOD = "obfuscator"
"""The method name that sends every frame whole through a trained obfuscator (no detection)."""
_DEFAULTS = PipelineConfig()


def parse_targets(text: str) -> frozenset[ObjectClass]:
    """Parse ``face,plate,...`` into classes.

    Raises:
        ConfigError: an unknown class name, or none at all.
    """
    try:
        classes = frozenset(ObjectClass.parse(name) for name in text.split(",") if name.strip())
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not classes:
        raise ConfigError("no target class given")
    return classes


def parse_class_map(text: str, parse_value: Callable[[str], V], what: str) -> dict[ObjectClass, V]:
    """Parse ``class=value,...``; a bare value applies to every class.

    Raises:
        ConfigError: an unknown class or a value ``parse_value`` rejects (ValueError); names the item.
    """
    result: dict[ObjectClass, V] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            classes = [ObjectClass.parse(name)] if sep else list(ObjectClass)
            parsed = parse_value(value if sep else name)
        except ValueError as exc:
            raise ConfigError(f"{item!r}: {exc}") from None
        for cls in classes:
            result[cls] = parsed
    if not result:
        raise ConfigError(f"no {what} given")
    return result


def _method(name: str) -> Method:
    try:
        return Method(name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(m.value for m in Method)}") from None


def _score(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"threshold {value} is not in [0, 1]")
    return value


def parse_methods(text: str) -> dict[ObjectClass, Method]:
    """Parse ``face=blur,plate=pixelate`` (or one method for all)."""
    return parse_class_map(text, _method, "method")


def parse_thresholds(text: str) -> dict[ObjectClass, float]:
    """Parse ``face=0.3,plate=0.5`` (or one threshold for all)."""
    return parse_class_map(text, _score, "threshold")


@dataclass(frozen=True)
class UserChoices:
    """What a user asked for; ``None`` means "the default, or what the privacy level says".

    ``targets``, ``methods`` and ``thresholds`` are the compact texts (``face,plate``,
    ``face=blur,plate=mask``, ``face=0.3``); an empty text is an error, not the default, so a script
    that loses a variable does not quietly hide less. ``margin`` grows detected regions, carried ones
    twice as much. ``method_key`` is the keyed methods' secret (see :func:`read_method_key`).
    """

    targets: str | None = None
    methods: str | None = None
    thresholds: str | None = None
    privacy: PrivacyLevel = PrivacyLevel.STANDARD
    detect_every: int | None = None
    hold_frames: int | None = None
    lookahead_frames: int | None = None
    static_camera: bool = False
    margin: float | None = None
    on_error: FailMode = FailMode.ABORT
    detect_size: int | None = None
    tile: bool = False
    threads: int = 0
    device: Device = Device.AUTO
    codec: str | None = _DEFAULTS.encoder.codec
    crf: int = _DEFAULTS.encoder.crf
    preset: str = _DEFAULTS.encoder.preset
    keep_audio: bool = True
    strip_location: bool = True
    models_dir: Path | None = None
    max_pixels: int = _DEFAULTS.max_pixels
    method_key: bytes | None = field(default=None, repr=False)
    obfuscator: Path | None = None

    def to_config(self) -> PipelineConfig:
        """Return the configuration these choices stand for.

        Raises:
            ConfigError: a name or value out of range; the message names it.
        """
        whole_frame = self.methods is not None and self.methods.strip().lower() == WHOLE_FRAME_METHOD
        if whole_frame and self.obfuscator is None:
            raise ConfigError(
                f"method {WHOLE_FRAME_METHOD} needs the trained model: pass --obfuscator MODEL.onnx"
            )
        if self.obfuscator is not None and not whole_frame:
            raise ConfigError(f"an obfuscator model is used only with method {WHOLE_FRAME_METHOD}")
        level = preset_for(self.privacy)
        scores = dict(level.score_thresholds)
        if self.thresholds is not None:
            scores.update(parse_thresholds(self.thresholds))
        margins = (
            {}
            if self.margin is None
            else {"margin_ratio": self.margin, "propagated_margin_ratio": 2 * self.margin}
        )
        given = _given(
            detect_every=self.detect_every,
            hold_frames=self.hold_frames,
            lookahead_frames=self.lookahead_frames,
        )
        detect_size = level.detect_long_side_px if self.detect_size is None else self.detect_size
        return PipelineConfig(
            targets=DEFAULT_TARGETS if self.targets is None else parse_targets(self.targets),
            methods={} if self.methods is None or whole_frame else parse_methods(self.methods),
            policy=level.policy(score_thresholds=scores, fail_mode=self.on_error, **margins),
            temporal=replace(level.temporal, static_camera=self.static_camera, **given),
            detection=DetectionConfig(
                detect_long_side_px=detect_size,
                face_evidence=level.face_evidence,
                tile=self.tile,
                intra_op_threads=self.threads,
                device=self.device,
            ),
            encoder=EncoderConfig(codec=self.codec, crf=self.crf, preset=self.preset),
            models_dir=self.models_dir,
            keep_audio=self.keep_audio,
            strip_location=self.strip_location,
            max_pixels=self.max_pixels,
            method_key=self.method_key,
            obfuscator=self.obfuscator,
        )


def _given(**values: int | None) -> dict[str, Any]:
    """Return the settings the user gave (not None), to override a preset's."""
    return {name: value for name, value in values.items() if value is not None}
