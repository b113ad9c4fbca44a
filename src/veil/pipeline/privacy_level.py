"""One knob for how hard Veil tries: thresholds, detection interval, hold, margins and motion together."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from veil.pipeline.config import DetectionConfig, PrivacyPolicy, TemporalConfig
from veil.types import ObjectClass

__all__ = ["PrivacyLevel", "PrivacyPreset", "preset_for"]


class PrivacyLevel(enum.Enum):
    """How much speed and footage Veil trades for fewer leaks; the value is the CLI name."""

    STANDARD = "standard"  # YuNet every 5th frame, tracks held and bridged: live-camera speed
    STRICT = "strict"  # both face detectors every other frame, lower thresholds, wider margins, longer holds
    GUARANTEE = (
        "guarantee"  # both face detectors on every frame, every face kept, plus unexplained moving blobs
    )


@dataclass(frozen=True)
class PrivacyPreset:
    """The settings a privacy level stands for; explicit options given beside a level override them.

    ``detect_long_side_px`` is the detection size: larger frames are shrunk to it, and smaller ones grown
    towards it (2× at most) for the face detector, whose smallest faces are about 10 px.
    ``face_evidence``: unsure faces on vehicles, or of vehicle size, need CenterFace's word
    (:attr:`DetectionConfig.face_evidence`).
    """

    score_thresholds: Mapping[ObjectClass, float]
    margin_ratio: float
    propagated_margin_ratio: float
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    detect_long_side_px: int = DetectionConfig().detect_long_side_px
    face_evidence: bool = True

    def policy(self, **changes: object) -> PrivacyPolicy:
        """Return the level's policy, with ``changes`` (PrivacyPolicy fields) applied."""
        values: dict[str, object] = {
            "score_thresholds": dict(self.score_thresholds),
            "margin_ratio": self.margin_ratio,
            "propagated_margin_ratio": self.propagated_margin_ratio,
        }
        values.update(changes)
        return PrivacyPolicy(**values)  # type: ignore[arg-type]


_DEFAULT = PrivacyPolicy()

_PRESETS: Mapping[PrivacyLevel, PrivacyPreset] = MappingProxyType(
    {
        PrivacyLevel.STANDARD: PrivacyPreset(
            score_thresholds=MappingProxyType(dict(_DEFAULT.score_thresholds)),
            margin_ratio=_DEFAULT.margin_ratio,
            propagated_margin_ratio=_DEFAULT.propagated_margin_ratio,
            temporal=TemporalConfig(),
        ),
        PrivacyLevel.STRICT: PrivacyPreset(
            score_thresholds=MappingProxyType(
                {**_DEFAULT.score_thresholds, ObjectClass.FACE: 0.25, ObjectClass.LICENSE_PLATE: 0.4}
            ),
            margin_ratio=0.2,
            propagated_margin_ratio=0.4,
            temporal=TemporalConfig(
                detect_every=2, hold_frames=25, lookahead_frames=25, face_second_opinion=True
            ),
            detect_long_side_px=1920,
        ),
        PrivacyLevel.GUARANTEE: PrivacyPreset(
            score_thresholds=MappingProxyType(
                {
                    **_DEFAULT.score_thresholds,
                    ObjectClass.FACE: 0.2,
                    ObjectClass.LICENSE_PLATE: 0.3,
                    ObjectClass.TEXT: 0.4,
                }
            ),
            margin_ratio=0.25,
            propagated_margin_ratio=0.5,
            temporal=TemporalConfig(
                detect_every=1,
                hold_frames=50,
                lookahead_frames=50,
                motion_fallback=True,
                face_second_opinion=True,
            ),
            detect_long_side_px=1920,
            # Anything that may be a face stays hidden: on PETS a real face the detectors miss was
            # covered only by a car-sized false face that the check drops.
            face_evidence=False,
        ),
    }
)


def preset_for(level: PrivacyLevel) -> PrivacyPreset:
    """Return the settings of ``level``."""
    return _PRESETS[level]
