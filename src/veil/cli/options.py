"""Options several commands share, and the target parser with click's errors (so the option is named)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from click.decorators import FC

from veil import api
from veil.api import DEFAULT_TARGETS, Device, FailMode, PipelineConfig, Precision, PrivacyLevel, RunOptions
from veil.errors import ConfigError
from veil.types import ObjectClass

__all__ = [
    "anonymize_options",
    "anonymize_settings",
    "device_option",
    "models_dir_option",
    "obfuscator_option",
    "on_error_option",
    "parse_targets",
    "precision_option",
    "privacy_option",
    "quiet_option",
    "threads_option",
]

T = TypeVar("T")


def _click_errors(parse: Callable[[str], T], text: str) -> T:
    try:
        return parse(text)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_targets(text: str) -> frozenset[ObjectClass]:
    """Parse ``face,plate,...`` into classes."""
    return _click_errors(api.parse_targets, text)


# Options several commands share, declared once so their names, defaults and help agree.
models_dir_option = click.option(
    "--models-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="VEIL_MODELS_DIR",
    help="Folder with the model files [env VEIL_MODELS_DIR; else the user cache, else download].",
)
threads_option = click.option(
    "--threads", default=0, show_default=True, type=int, help="Inference threads (0: automatic)."
)
device_option = click.option(
    "--device",
    type=click.Choice([d.value for d in Device]),
    default=Device.AUTO.value,
    show_default=True,
    help="Where the detector models run (ONNX Runtime). auto: the GPU when ONNX Runtime has CUDA (the gpu "
    "extra: pip install 'veil[gpu]') and a GPU answers, else the CPU (-v says which); cpu: always the "
    "CPU; cuda: the GPU or exit 3 naming what is missing.",
)
precision_option = click.option(
    "--precision",
    type=click.Choice([p.value for p in Precision]),
    default=Precision.FLOAT32.value,
    show_default=True,
    help="int8: run the detectors `veil models quantize` derived in int8 (faster on CPUs with VNNI), each "
    "only where its agreement with float on held-out frames passed; the others stay float32 (-v says "
    "which).",
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
obfuscator_option = click.option(
    "--obfuscator",
    "obfuscator",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="With --method obfuscator: the ONNX model 'veil train obfuscator' wrote.",
)


def privacy_option(help_text: str) -> Callable[[FC], FC]:
    """``--privacy LEVEL`` (passed as ``privacy_level``), standard by default."""
    return click.option(
        "--privacy",
        "privacy_level",
        type=click.Choice([level.value for level in PrivacyLevel]),
        default=PrivacyLevel.STANDARD.value,
        show_default=True,
        help=help_text,
    )


def on_error_option(help_text: str) -> Callable[[FC], FC]:
    """``--on-error abort|hide-frame``, abort by default."""
    return click.option(
        "--on-error",
        type=click.Choice([m.value for m in FailMode]),
        default=FailMode.ABORT.value,
        show_default=True,
        help=help_text,
    )


_DEFAULTS = PipelineConfig()
_TARGET_NAMES = ",".join(sorted(c.value for c in DEFAULT_TARGETS))

# What to find and how to hide it: every option of ``veil anonymize`` but its paths and preview, so
# ``veil batch`` takes the same ones with the same defaults and help.
_ANONYMIZE_OPTIONS: tuple[Callable[[FC], FC], ...] = (
    click.option(
        "--targets",
        default=_TARGET_NAMES,
        show_default=True,
        help="Classes to hide: face, plate, person, vehicle, text. Faces and plates are what identifies "
        "people in most footage; persons and vehicles cost more and hide more of the scene.",
    ),
    click.option(
        "--method",
        "methods",
        default=_DEFAULTS.default_method.value,
        show_default=True,
        help="How to hide, for all classes or per class: face=blur,plate=pixelate,person=abstraction. "
        "blur (pleasant to watch; the kernel grows with the object), pixelate, mask (nothing survives), "
        "cartoon (flat colours and edges: scene keeps its look), false-colour (coarse brightness levels: "
        "shapes and light only), warp (smoothly scrambled in place), abstraction (a labelled silhouette: "
        "what it is, not who), token (striped pattern per track: the same person again is recognisable, "
        "who is not; see --key-file), expression (faces only: a synthetic face drawn on the person's "
        "landmarks keeps pose and expression, not identity; needs the expression extra). To encrypt "
        "regions reversibly use veil scramble. 'obfuscator' sends every whole frame through a trained "
        "network instead (--obfuscator; nothing is detected). README's 'Which method when' compares them.",
    ),
    click.option(
        "--key-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Secret of the token method (16+ bytes, e.g. head -c 32 /dev/urandom > veil.key): under one "
        "key a track gets the same token in every file. Else $VEIL_METHOD_KEY; else a random key per run. "
        "Keep it away from the output.",
    ),
    obfuscator_option,
    click.option(
        "--threshold",
        "thresholds",
        default=None,
        help="Detector score threshold, for all or per class (face=0.3). Defaults are low "
        "(face 0.35, plate 0.5, person/vehicle 0.3): a false alarm costs a blurred patch, a miss "
        "exposes someone.",
    ),
    privacy_option(
        "How hard to try, in one knob (video). standard: detector (YuNet for faces) on every 5th frame, "
        "regions carried between by optical flow, tracks bridged and held 15 frames: fast enough for live "
        "cameras. strict: YuNet and CenterFace every 2nd frame, lower thresholds, wider margins, 25-frame "
        "holds. guarantee: every frame, plus any moving person-sized blob no detection explains. Still "
        "images always get both face detectors. Options below override single settings."
    ),
    click.option(
        "--detect-every",
        type=click.IntRange(1, 1000),
        default=None,
        help="Run the detector at least every N frames (sooner after fast change, always at a scene cut); "
        "regions are carried by optical flow in between [default: from --privacy].",
    ),
    click.option(
        "--hold",
        "hold_frames",
        type=click.IntRange(0, 10_000),
        default=None,
        help="Keep hiding a track this many frames after the detector last found it: detectors blink "
        "[default: from --privacy].",
    ),
    click.option(
        "--lookahead",
        "lookahead_frames",
        type=click.IntRange(0, 1000),
        default=None,
        help="Frames each frame waits for its future, so a face is hidden across detector misses and before "
        "its first detection; 0 is forward-only (live) [default: from --privacy].",
    ),
    click.option(
        "--static-camera",
        is_flag=True,
        help="The camera does not move: the guarantee level's motion fallback models the background.",
    ),
    click.option(
        "--margin",
        default=None,
        type=float,
        help="Grow each region by this share of its size on every side, so hair, ears and plate frames go "
        "too; carried regions grow twice as much, and every region at least "
        f"{_DEFAULTS.policy.min_margin_px:g} px [default: from --privacy, {_DEFAULTS.policy.margin_ratio} at "
        "standard].",
    ),
    on_error_option(
        "If a detector fails on a frame: abort (no output is left) or hide-frame (write that frame "
        "fully hidden and go on). The raw frame is never written."
    ),
    click.option(
        "--detect-only", is_flag=True, help="Write INPUT-STEM.detections.json next to OUTPUT and no media."
    ),
    click.option(
        "--from-detections",
        type=click.Path(path_type=Path, exists=True),
        help="Hide the regions in this detections JSON (e.g. after a human review) instead of detecting. "
        "Every frame must be listed. For a folder INPUT, a folder of JSON files mirroring it.",
    ),
    click.option("--detections", "write_detections", is_flag=True, help="Also write the detections JSON."),
    click.option(
        "--detect-size",
        type=click.IntRange(0, 8192),
        default=None,
        help="Detect on a copy whose long side is at most this many pixels (0: full size); smaller frames "
        "are grown towards it for the face detector. Smaller is faster but misses far-away faces; see --tile "
        "[default: from --privacy, 1280 at standard, 1920 above].",
    ),
    click.option(
        "--tile",
        is_flag=True,
        help="Also detect faces and plates on overlapping full-resolution tiles: finds small, distant ones, "
        "several times slower.",
    ),
    threads_option,
    device_option,
    precision_option,
    models_dir_option,
    click.option(
        "--codec",
        default=None,
        help="Video encoder (FFmpeg name). By default the output's container picks: H.264 (libx264), H.265 "
        "(libx265) for raw .h265/.hevc, VP9 (libvpx-vp9) for .webm. A container that cannot hold the "
        "codec is refused before the run.",
    ),
    click.option(
        "--crf",
        default=_DEFAULTS.encoder.crf,
        show_default=True,
        type=int,
        help="Quality: lower is better and bigger. 20 keeps detail for later analysis.",
    ),
    click.option(
        "--preset",
        default=_DEFAULTS.encoder.preset,
        show_default=True,
        help="Encoder speed preset; veryfast keeps encoding from dominating the run time.",
    ),
    click.option("--no-audio", is_flag=True, help="Drop audio (by default it is copied untouched)."),
    click.option(
        "--accept-truncated",
        is_flag=True,
        help="Anonymize the frames a damaged video does decode. By default a video that ends before the "
        "length its container declares, or stops decoding part-way, is refused (exit 4) and nothing is "
        "written, so a cut-off file is never mistaken for a whole one.",
    ),
    click.option(
        "--keep-location",
        is_flag=True,
        help="Keep GPS/location metadata (stripped by default: a location identifies people too).",
    ),
    click.option(
        "--max-pixels",
        default=_DEFAULTS.max_pixels,
        show_default=True,
        type=int,
        help="Refuse frames larger than this many pixels (guards against decompression bombs).",
    ),
    click.option(
        "--profile",
        is_flag=True,
        help="Time each stage of a video (decode, detect, propagate, anonymize, encode, model loading): "
        "wall and CPU seconds, printed and in the --json report.",
    ),
)


def anonymize_options(command: FC) -> FC:
    """Add every option of ``veil anonymize`` that says what to find and how to hide it."""
    for option in reversed(_ANONYMIZE_OPTIONS):
        command = option(command)
    return command


def anonymize_settings(
    choices: Mapping[str, Any], *, preview: Path | None = None
) -> tuple[PipelineConfig, RunOptions]:
    """Return the configuration and run options the values of :func:`anonymize_options` ask for."""
    config = api.UserChoices(
        targets=choices["targets"],
        methods=choices["methods"],
        thresholds=choices["thresholds"],
        privacy=PrivacyLevel(choices["privacy_level"]),
        detect_every=choices["detect_every"],
        hold_frames=choices["hold_frames"],
        lookahead_frames=choices["lookahead_frames"],
        static_camera=choices["static_camera"],
        margin=choices["margin"],
        on_error=FailMode(choices["on_error"]),
        detect_size=choices["detect_size"],
        tile=choices["tile"],
        threads=choices["threads"],
        device=Device(choices["device"]),
        precision=Precision(choices["precision"]),
        codec=choices["codec"],
        crf=choices["crf"],
        preset=choices["preset"],
        keep_audio=not choices["no_audio"],
        strip_location=not choices["keep_location"],
        models_dir=choices["models_dir"],
        max_pixels=choices["max_pixels"],
        method_key=api.read_method_key(choices["key_file"]),
        obfuscator=choices["obfuscator"],
    ).to_config()
    options = RunOptions(
        detect_only=choices["detect_only"],
        from_detections=choices["from_detections"],
        write_detections=choices["write_detections"],
        preview=preview,
        accept_truncated=choices["accept_truncated"],
        profile=choices["profile"],
    )
    return config, options
