"""Turn a request's form fields into a PipelineConfig, with the CLI's names, parsers and defaults."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from veil.api import DEFAULT_TARGETS, WHOLE_FRAME_METHOD, FailMode, PipelineConfig, PrivacyLevel, UserChoices
from veil.errors import ConfigError

__all__ = ["OPTION_HELP", "REMOVAL_HELP", "build_config", "parse_bool", "validate_options"]

_DEFAULTS = PipelineConfig()
# Encoders a client may ask for; the server runs FFmpeg, so arbitrary encoder names are not accepted.
_CODECS = frozenset({"libx264", "libx265", "libvpx-vp9", "mpeg4"})
_PRESETS = frozenset(
    {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

_TARGETS = ",".join(sorted(c.value for c in DEFAULT_TARGETS))
OPTION_HELP: Mapping[str, str] = {
    "targets": f"classes to hide: face, plate, person, vehicle, text (default {_TARGETS})",
    "method": "blur, pixelate, mask, cartoon, false-colour, warp, abstraction, token (a random key per "
    "job) or expression (faces), for all or per class: face=blur,plate=mask "
    f"(default {_DEFAULTS.default_method.value}); or {WHOLE_FRAME_METHOD}: every whole frame through the "
    "trained obfuscator the server was started with (veil serve --obfuscator), nothing detected",
    "threshold": "detector score threshold, for all or per class: face=0.3 (default: from privacy)",
    "privacy": "standard, strict or guarantee: how hard to try, trading speed (default standard)",
    "margin": "grow each region by this share of its size, and at least "
    f"{_DEFAULTS.policy.min_margin_px:g} px (default: from privacy, "
    f"{_DEFAULTS.policy.margin_ratio} at standard)",
    "on_error": "abort or hide-frame (default abort)",
    "detect_size": "detect on a copy whose long side is at most this many pixels "
    f"(default: from privacy, {_DEFAULTS.detection.detect_long_side_px} at standard)",
    "tile": "also detect on full-resolution tiles: true/false",
    "codec": f"video encoder: {', '.join(sorted(_CODECS))} (default: the container's own)",
    "crf": f"video quality, lower is better (default {_DEFAULTS.encoder.crf})",
    "preset": f"encoder speed preset (default {_DEFAULTS.encoder.preset})",
    "no_audio": "drop audio: true/false",
    "keep_location": "keep GPS/location metadata: true/false",
}
# Extra fields of the removal operations: which object goes (targets: person, vehicle).
REMOVAL_HELP: Mapping[str, str] = {
    "box": "remove-*-object: only what lies in this box, x1,y1,x2,y2 in frame pixels",
    "track_id": "remove-*-object: only the object with this track id (as in a detections JSON)",
}


def parse_bool(name: str, text: str) -> bool:
    """Return the boolean form field ``name``; anything but true/false (1/0, yes/no, on/off) is an error."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={text!r} is not a boolean; use true or false")


def _number(name: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text.strip())
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a {kind.__name__}") from None


def _server_obfuscator(options: Mapping[str, str], obfuscator: Path | None) -> Path | None:
    """Return the model for ``method=obfuscator``: only ever the server's own, never a client's path."""
    if options.get("method", "").strip().lower() != WHOLE_FRAME_METHOD:
        return None
    if obfuscator is None:
        raise ConfigError(
            f"method={WHOLE_FRAME_METHOD} needs a trained obfuscator, and this server was started without "
            "one (veil serve --obfuscator MODEL.onnx)"
        )
    return obfuscator


def build_config(
    options: Mapping[str, str],
    models_dir: Path | None = None,
    max_pixels: int | None = None,
    extra: Mapping[str, str] = MappingProxyType({}),
    obfuscator: Path | None = None,
) -> PipelineConfig:
    """Return the PipelineConfig that ``options`` (form fields named as in OPTION_HELP) ask for.

    Fields named in ``extra`` are allowed and left to the operation that uses them. ``obfuscator`` is
    the model the server was started with: ``method=obfuscator`` uses it (no field names a model).

    Raises:
        ConfigError: an unknown field, or a value out of range; the message names it.
    """
    valid = set(OPTION_HELP) | set(extra)
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
    get = options.get
    on_error = get("on_error", FailMode.ABORT.value)
    if on_error not in {m.value for m in FailMode}:
        raise ConfigError(f"on_error={on_error!r}; valid: {', '.join(m.value for m in FailMode)}")
    privacy = get("privacy", PrivacyLevel.STANDARD.value)
    if privacy not in {level.value for level in PrivacyLevel}:
        raise ConfigError(f"privacy={privacy!r}; valid: {', '.join(level.value for level in PrivacyLevel)}")
    codec = get("codec")
    if codec is not None and codec not in _CODECS:
        raise ConfigError(f"codec={codec!r}; valid: {', '.join(sorted(_CODECS))}")
    preset = get("preset", _DEFAULTS.encoder.preset)
    if preset not in _PRESETS:
        raise ConfigError(f"preset={preset!r}; valid: {', '.join(sorted(_PRESETS))}")
    margin, detect_size = get("margin"), get("detect_size")
    return UserChoices(
        targets=get("targets"),
        methods=get("method"),
        thresholds=get("threshold"),
        privacy=PrivacyLevel(privacy),
        margin=None if margin is None else _number("margin", margin, float),
        on_error=FailMode(on_error),
        detect_size=None if detect_size is None else int(_number("detect_size", detect_size, int)),
        tile=parse_bool("tile", get("tile", "")),
        codec=codec,
        crf=int(_number("crf", get("crf", str(_DEFAULTS.encoder.crf)), int)),
        preset=preset,
        keep_audio=not parse_bool("no_audio", get("no_audio", "")),
        strip_location=not parse_bool("keep_location", get("keep_location", "")),
        models_dir=models_dir,
        max_pixels=max_pixels or _DEFAULTS.max_pixels,
        obfuscator=_server_obfuscator(options, obfuscator),
    ).to_config()


def validate_options(
    options: Mapping[str, str],
    extra: Mapping[str, str] = MappingProxyType({}),
    obfuscator: Path | None = None,
) -> dict[str, str]:
    """Return the options with empty values dropped, after checking that they build a config."""
    kept = {k: v for k, v in options.items() if v != ""}
    build_config(kept, extra=extra, obfuscator=obfuscator)
    return kept
