"""Frozen run configuration: the one object the CLI, the Python API and the service all build.

Each stage's own settings live with the stage (:class:`DetectionConfig` in ``detection/``,
:class:`TemporalConfig` in ``propagation/``, :class:`EncoderConfig` in ``video/``, :class:`Method` in
``anonymizers/``); this module composes them and re-exports them so a caller finds the whole run here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from veil.anonymizers.method import Method
from veil.checks import check_range
from veil.detection.settings import DetectionConfig, Device
from veil.errors import ConfigError
from veil.propagation.settings import TemporalConfig
from veil.types import ObjectClass
from veil.video.settings import EncoderConfig, OutputSettings

__all__ = [
    "DEFAULT_TARGETS",
    "DetectionConfig",
    "Device",
    "EncoderConfig",
    "FailMode",
    "Method",
    "OutputSettings",
    "PipelineConfig",
    "PrivacyPolicy",
    "RunOptions",
    "TemporalConfig",
]

DEFAULT_TARGETS = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE})


class FailMode(enum.Enum):
    """What a detector or model error does to a frame."""

    ABORT = "abort"  # stop the run; the partial output is removed
    HIDE_FRAME = "hide-frame"  # write the whole frame hidden and go on


# Recall over precision: a false positive costs a blurred patch, a miss exposes a person.
_DEFAULT_THRESHOLDS: Mapping[ObjectClass, float] = MappingProxyType(
    {
        ObjectClass.FACE: 0.35,
        ObjectClass.LICENSE_PLATE: 0.5,
        ObjectClass.PERSON: 0.3,
        ObjectClass.VEHICLE: 0.3,
        ObjectClass.TEXT: 0.5,
    }
)


@dataclass(frozen=True)
class PrivacyPolicy:
    """Which regions count and how far they are grown before hiding.

    Args:
        score_thresholds: minimum detector score per class.
        margin_ratio: each detected region grows by this share of its size on every side.
        propagated_margin_ratio: the same for regions carried from other frames (less certain).
        min_margin_px: every region grows by at least this many pixels on every side, however small.
        fail_mode: what a detector error does.
    """

    score_thresholds: Mapping[ObjectClass, float] = field(default_factory=lambda: dict(_DEFAULT_THRESHOLDS))
    margin_ratio: float = 0.15
    propagated_margin_ratio: float = 0.3
    # A share of a tiny face is under a pixel: grown by a ratio alone and blurred from its own pixels, it
    # stays a face-coloured blob a detector still finds. A few pixels of margin cover its edges; most
    # leaks on crowd footage are such tiny faces (figures: docs/tuning.md, "Privacy margins").
    min_margin_px: float = 4.0
    fail_mode: FailMode = FailMode.ABORT

    def __post_init__(self) -> None:
        for cls, thr in self.score_thresholds.items():
            check_range(f"score_thresholds[{cls.value}]", thr, 0.0, 1.0)
        check_range("margin_ratio", self.margin_ratio, 0.0, 2.0)
        check_range("propagated_margin_ratio", self.propagated_margin_ratio, 0.0, 2.0)
        check_range("min_margin_px", self.min_margin_px, 0.0, 256.0)

    def threshold(self, cls: ObjectClass) -> float:
        """Return the score threshold of ``cls``."""
        return self.score_thresholds.get(cls, _DEFAULT_THRESHOLDS[cls])


@dataclass(frozen=True)
class PipelineConfig:
    """Everything one anonymization run needs.

    Args:
        targets: classes to find and hide.
        methods: anonymization method per class; classes not listed use ``default_method``.
        default_method: method for classes not in ``methods``.
        policy: thresholds, margins and fail mode.
        detection: detector settings.
        temporal: how video frames share detections.
        encoder: video encoder settings.
        models_dir: folder holding model files (else ``VEIL_MODELS_DIR``, then the user cache).
        keep_audio: copy audio and other streams the container accepts.
        strip_location: remove GPS / location metadata (images: GPS EXIF and device serials).
        max_pixels: frames larger than this (width × height) are refused.
        method_key: the secret of the keyed methods (``token``: the same track gets the same pattern
            under one key); None gives them a random secret for each run. Never printed.
        obfuscator: a trained whole-frame obfuscator (ONNX, from ``veil train obfuscator``): every
            frame goes through it whole and nothing is detected; targets and methods are unused.
    """

    targets: frozenset[ObjectClass] = DEFAULT_TARGETS
    methods: Mapping[ObjectClass, Method] = field(default_factory=dict)
    default_method: Method = Method.BLUR
    policy: PrivacyPolicy = field(default_factory=PrivacyPolicy)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    models_dir: Path | None = None
    keep_audio: bool = True
    strip_location: bool = True
    max_pixels: int = 8192 * 8192
    method_key: bytes | None = field(default=None, repr=False)
    obfuscator: Path | None = None

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("targets is empty: name at least one class to anonymize")
        check_range("max_pixels", self.max_pixels, 1, 2**31)

    def method_for(self, cls: ObjectClass) -> Method:
        """Return the anonymization method used for ``cls``."""
        return self.methods.get(cls, self.default_method)

    def threshold(self, cls: ObjectClass) -> float:
        """Return the policy's score threshold of ``cls`` (what the detectors keep)."""
        return self.policy.threshold(cls)

    @property
    def output(self) -> OutputSettings:
        """The output settings every video-writing pipeline shares (removal takes these)."""
        return OutputSettings(self.encoder, self.keep_audio, self.strip_location, self.max_pixels)

    @property
    def face_second_opinion(self) -> bool:
        """Whether CenterFace runs beside YuNet on video detection frames too."""
        return self.temporal.face_second_opinion


@dataclass(frozen=True)
class RunOptions:
    """What one run over an input writes besides the anonymized media.

    Args:
        detect_only: write the detections JSON and no media.
        from_detections: take regions from this (possibly human-corrected) detections JSON instead of
            running detectors; for a folder input, a folder of such files mirroring the input tree.
        write_detections: write ``NAME.detections.json`` beside each output.
        preview: write a before/after contact sheet PNG of sampled frames here.
        overwrite: replace an existing output file.
        accept_truncated: anonymize the frames a damaged video does decode (one that ends before its
            declared length or stops decoding part-way) instead of refusing it; the report warns.
    """

    detect_only: bool = False
    from_detections: Path | None = None
    write_detections: bool = False
    preview: Path | None = None
    overwrite: bool = True
    accept_truncated: bool = False

    def __post_init__(self) -> None:
        if self.detect_only and self.from_detections is not None:
            raise ConfigError(
                "detect_only and from_detections cannot be combined: one writes what the other reads"
            )
