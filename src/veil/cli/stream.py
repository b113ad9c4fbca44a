"""``veil stream``: anonymize a camera or network stream live, forward-only, within a latency budget."""

from __future__ import annotations

from pathlib import Path

import click

from veil import api
from veil.api import DEFAULT_TARGETS, Device, FailMode, LiveSettings, PrivacyLevel
from veil.cli.options import (
    device_option,
    models_dir_option,
    obfuscator_option,
    on_error_option,
    privacy_option,
    quiet_option,
    threads_option,
)
from veil.cli.reporting import check_report_path, emit_report, live_summary, report_options

__all__ = ["stream"]

_LIVE = LiveSettings()
_TARGET_NAMES = ",".join(sorted(c.value for c in DEFAULT_TARGETS))


def _parse_options(values: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: give KEY=VALUE, e.g. fflags=nobuffer")
        options[key] = value
    return options


@click.command()
@click.argument("source")
@click.option(
    "-o",
    "--output",
    "destination",
    required=True,
    help="File (.ts or .mkv survive a cut-off) or URL, e.g. udp://127.0.0.1:5000?pkt_size=1316 "
    "(MPEG-TS for udp/tcp/srt).",
)
@privacy_option(
    "How hard to try (see veil anonymize --help); live input is always forward-only (no lookahead)."
)
@click.option("--targets", default=_TARGET_NAMES, show_default=True, help="Classes to hide.")
@click.option(
    "--method",
    "methods",
    default="blur",
    show_default=True,
    help="blur, pixelate, mask, cartoon, false-colour, warp, abstraction, token or expression "
    "(per class too; see veil anonymize --help), or obfuscator: every whole frame through the trained "
    "network of --obfuscator, nothing detected.",
)
@obfuscator_option
@click.option("--threshold", "thresholds", default=None, help="Detector score threshold (face=0.3).")
@click.option(
    "--latency-budget-ms",
    default=_LIVE.latency_budget_ms,
    show_default=True,
    type=click.FloatRange(1, 60_000),
    help="A frame that would leave later than this after it arrived is dropped before anonymization "
    "(never sent raw) while a newer frame waits.",
)
@click.option(
    "--repeat-dropped",
    is_flag=True,
    help="Keep a constant frame rate: send the last anonymized picture in a dropped frame's place.",
)
@click.option(
    "--detect-inline",
    is_flag=True,
    help="Detection frames wait for their detector instead of it running beside the stream (latency "
    "spikes at each detection frame, but each detection frame's own detections hide it).",
)
@click.option("--realtime", is_flag=True, help="Play a file SOURCE at its own speed, as a camera would.")
@click.option("--frames", "max_frames", type=click.IntRange(min=1), help="Stop after this many frames.")
@click.option(
    "--reconnect",
    "reconnect_attempts",
    default=_LIVE.reconnect_attempts,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Reopen a lost network source up to this many times in a row.",
)
@click.option(
    "--open-timeout",
    default=_LIVE.open_timeout_s,
    show_default=True,
    type=click.FloatRange(0.1, 86_400),
    help="Seconds to wait for the source to open (a ?listen socket waits for its sender).",
)
@click.option(
    "--input-option",
    "input_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="FFmpeg option for the source, repeatable (fflags=nobuffer, video_size=1280x720, ...).",
)
@on_error_option(
    "If a detector (or the obfuscator) fails: abort, or hide-frame (send that frame fully hidden). "
    "Never the raw frame."
)
@click.option("--detect-size", type=click.IntRange(0, 8192), default=None, help="Detection long side, px.")
@threads_option
@device_option
@models_dir_option
@click.option("--crf", default=23, show_default=True, type=click.IntRange(0, 51), help="Output quality.")
@click.option(
    "--preset",
    default="veryfast",
    show_default=True,
    help="x264 speed preset (tuned for zero latency); ultrafast frees CPU for detection.",
)
@report_options
@quiet_option
def stream(
    source: str,
    destination: str,
    privacy_level: str,
    targets: str,
    methods: str,
    obfuscator: Path | None,
    thresholds: str | None,
    latency_budget_ms: float,
    repeat_dropped: bool,
    detect_inline: bool,
    realtime: bool,
    max_frames: int | None,
    reconnect_attempts: int,
    open_timeout: float,
    input_options: tuple[str, ...],
    on_error: str,
    detect_size: int | None,
    threads: int,
    device: str,
    models_dir: Path | None,
    crf: int,
    preset: str,
    json_report: bool,
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Anonymize SOURCE live: /dev/videoN, v4l2:PATH, rtsp://, udp://, tcp://, http(s):// or a file.

    Frames are anonymized forward-only as they arrive and sent on at once. Stop with Ctrl-C or
    SIGTERM; the output file is then finished and kept (every frame in it was anonymized), exit 0.
    """
    check_report_path(report_path, outputs=(Path(destination),))
    # Live runs are forward-only: a frame cannot wait for its future.
    config = api.UserChoices(
        targets=targets,
        methods=methods,
        thresholds=thresholds,
        privacy=PrivacyLevel(privacy_level),
        lookahead_frames=0,
        on_error=FailMode(on_error),
        detect_size=detect_size,
        threads=threads,
        device=Device(device),
        crf=crf,
        preset=preset,
        keep_audio=False,
        models_dir=models_dir,
        obfuscator=obfuscator,
    ).to_config()
    settings = LiveSettings(
        latency_budget_ms=latency_budget_ms,
        repeat_dropped=repeat_dropped,
        background_detection=not detect_inline,
        realtime=realtime,
        max_frames=max_frames,
        reconnect_attempts=reconnect_attempts,
        open_timeout_s=open_timeout,
        input_options=_parse_options(input_options),
    )
    with api.open_pipeline(config) as pipeline:
        report = pipeline.stream(source, destination, settings)
    emit_report(report, live_summary(report), json_report=json_report, report_path=report_path, quiet=quiet)
