"""Frozen run configuration: the one object the CLI, the Python API and the service all build."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from veil.errors import ConfigError
from veil.types import ObjectClass

__all__ = [
    "DEFAULT_TARGETS",
    "DetectionConfig",
    "Device",
    "EncoderConfig",
    "FailMode",
    "Method",
    "PipelineConfig",
    "PrivacyPolicy",
    "RunOptions",
    "TemporalConfig",
]

DEFAULT_TARGETS = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE})


class Method(enum.Enum):
    """How a region is hidden; the value is the CLI and registry name."""

    BLUR = "blur"
    PIXELATE = "pixelate"
    MASK = "mask"


class FailMode(enum.Enum):
    """What a detector or model error does to a frame."""

    ABORT = "abort"  # stop the run; the partial output is removed
    HIDE_FRAME = "hide-frame"  # write the whole frame hidden and go on


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is out of range [{low}, {high}]")


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
    # A share of a tiny face is under a pixel: a 6 px face grown by 15 % and blurred from its own pixels
    # stays a face-coloured blob that YuNet still finds. On the PETS clip at the standard level, 59 of
    # the 84 leaked reference faces (median 7 px high) lay at least half inside their region; at least
    # 2 / 3 / 4 px of margin left 52 / 32 / 28 leaked in all; on MOT20-08 leaks went from 192 to 159 of
    # 3,123 with 4 px (benchmarks/video_leaks.py).
    min_margin_px: float = 4.0
    fail_mode: FailMode = FailMode.ABORT

    def __post_init__(self) -> None:
        for cls, thr in self.score_thresholds.items():
            _check_range(f"score_thresholds[{cls.value}]", thr, 0.0, 1.0)
        _check_range("margin_ratio", self.margin_ratio, 0.0, 2.0)
        _check_range("propagated_margin_ratio", self.propagated_margin_ratio, 0.0, 2.0)
        _check_range("min_margin_px", self.min_margin_px, 0.0, 256.0)

    def threshold(self, cls: ObjectClass) -> float:
        """Return the score threshold of ``cls``."""
        return self.score_thresholds.get(cls, _DEFAULT_THRESHOLDS[cls])


class Device(enum.Enum):
    """Where the ONNX Runtime detectors run."""

    AUTO = "auto"  # CUDA when onnxruntime-gpu sees a GPU, else the CPU
    CPU = "cpu"
    CUDA = "cuda"  # a GPU, or an error naming what to install


@dataclass(frozen=True)
class DetectionConfig:
    """How detectors run.

    Args:
        detect_long_side_px: frames are resized so their long side is at most this before detection;
            0 keeps full size. Smaller is faster and misses more far-away faces.
        tile: also run face and plate detection on overlapping full-resolution tiles
            (finds small, far-away faces and plates; about 3–6× slower).
        tile_size_px: side of a tile.
        intra_op_threads: ONNX Runtime threads per session (0: automatic, one per session, because
            Veil's stages already run in parallel).
        providers: ONNX Runtime execution providers in order of preference; empty: chosen by ``device``.
        device: CPU, CUDA, or the best available (the ``gpu`` extra brings CUDA); every detector
            model runs in ONNX Runtime (OpenCV only prepares its input), so all of them move.
        face_evidence: an unsure face on a vehicle (with no person around it) or of vehicle size is kept
            only if CenterFace also finds it on a close-up crop (car rears and tail lights are the
            commonest false faces on road footage). False keeps every face the detectors report.
    """

    detect_long_side_px: int = 1280
    tile: bool = False
    tile_size_px: int = 640
    intra_op_threads: int = 0
    providers: tuple[str, ...] = ()
    device: Device = Device.AUTO
    face_evidence: bool = True

    def __post_init__(self) -> None:
        if self.detect_long_side_px != 0:
            _check_range("detect_long_side_px", self.detect_long_side_px, 160, 8192)
        _check_range("tile_size_px", self.tile_size_px, 160, 4096)
        _check_range("intra_op_threads", self.intra_op_threads, 0, 256)


@dataclass(frozen=True)
class EncoderConfig:
    """Video encoder settings for anonymized output.

    Args:
        codec: FFmpeg encoder name; None picks the output container's own (H.264, or H.265 for raw
            ``.h265``/``.hevc`` streams, VP9 for WebM).
        crf: constant rate factor (lower is better quality, bigger files).
        preset: x264/x265 speed preset.
    """

    codec: str | None = None
    crf: int = 20
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        _check_range("crf", self.crf, 0, 51)


@dataclass(frozen=True)
class TemporalConfig:
    """How video frames share detections: run the detector on some frames, carry regions to the rest.

    Args:
        detect_every: the detector runs at least every this many frames (1: every frame), sooner after
            much change and always on a scene cut.
        change_threshold: summed frame change that triggers an early detection; ``None``: never early.
        scene_cut_threshold: thumbnail decorrelation above which a frame starts a new scene.
        flow_long_side_px: optical flow runs on frames shrunk to this long side.
        hold_frames: a track the detector stops finding stays hidden this many frames more.
        lookahead_frames: frames wait this long for their future, so a track is hidden before its first
            detection and across gaps (0: forward only, as live input needs).
        motion_fallback: also hide moving person-sized blobs no region explains.
        static_camera: the camera does not move (the motion fallback models the background instead).
        crowd_size: more persons than this on a frame are merged into crowd regions (0: never).
        face_second_opinion: CenterFace runs beside YuNet on keyframes too (still images always get
            both). It finds some blurred and turned faces YuNet misses, for a quarter of the detection
            time of a 720p keyframe.
    """

    detect_every: int = 5
    change_threshold: float | None = 0.06
    scene_cut_threshold: float = 0.4
    flow_long_side_px: int = 640
    # A face the detector misses on a few keyframes in a row is bridged only if its sightings are close
    # enough. At the standard level, 15 instead of 10 for both cut leaked faces on MOT20-08 from 159 to
    # 120 of 3,123 and on PETS from 28 to 18 of 865, for 6 % more hidden area on MOT20 (25 / 25: 80 and
    # 18 leaked, 17 % more area).
    hold_frames: int = 15
    lookahead_frames: int = 15
    motion_fallback: bool = False
    static_camera: bool = False
    crowd_size: int = 10
    face_second_opinion: bool = False

    def __post_init__(self) -> None:
        _check_range("detect_every", self.detect_every, 1, 1000)
        if self.change_threshold is not None:
            _check_range("change_threshold", self.change_threshold, 1e-6, 100.0)
        _check_range("scene_cut_threshold", self.scene_cut_threshold, 1e-6, 1.0)
        _check_range("flow_long_side_px", self.flow_long_side_px, 64, 4096)
        _check_range("hold_frames", self.hold_frames, 0, 10_000)
        _check_range("lookahead_frames", self.lookahead_frames, 0, 1000)
        _check_range("crowd_size", self.crowd_size, 0, 10_000)


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
    obfuscator: Path | None = None

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("targets is empty: name at least one class to anonymize")
        _check_range("max_pixels", self.max_pixels, 1, 2**31)

    def method_for(self, cls: ObjectClass) -> Method:
        """Return the anonymization method used for ``cls``."""
        return self.methods.get(cls, self.default_method)


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
