"""``veil remove``: take persons and vehicles out of a video and fill in the background behind them."""

from __future__ import annotations

from pathlib import Path

import click

from veil import api
from veil.cli.options import models_dir_option, parse_targets, quiet_option
from veil.cli.reporting import check_report_path, emit_report, removal_summary, report_options

__all__ = ["remove"]

_DEFAULTS = api.RemovalSettings()


def _parse_box(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        x1, y1, x2, y2 = (float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(f"{text!r}: give four numbers x1,y1,x2,y2 in frame pixels") from None
    return x1, y1, x2, y2


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Output video file.")
@click.option(
    "--targets",
    default="person,vehicle",
    show_default=True,
    help="Classes to remove: person, vehicle or both.",
)
@click.option(
    "--track-id",
    type=click.IntRange(min=0),
    help="Remove only the object with this track id (ids as in the detections JSON; see --detections).",
)
@click.option(
    "--box",
    help="Remove only what lies in this box, x1,y1,x2,y2 in frame pixels (e.g. 410,220,640,380).",
)
@click.option(
    "--static",
    "still_object",
    is_flag=True,
    help="The object does not move (a parked car): remove the union of its masks on every frame. "
    "Needs --box or --track-id.",
)
@click.option(
    "--detections",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Take regions and track ids from this detections JSON (veil anonymize --detections) "
    "instead of detecting.",
)
@click.option(
    "--threshold",
    default=_DEFAULTS.score_threshold,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Least detector score of an object to remove.",
)
@click.option(
    "--silhouettes",
    is_flag=True,
    help="Remove segmented silhouettes (DeepLab) instead of whole boxes: less to fill, but a head or an "
    "arm the coarse segmentation misses is left behind.",
)
@click.option(
    "--no-motion",
    is_flag=True,
    help="Do not also remove moving foreground that no detection explains.",
)
@click.option(
    "--dilate",
    type=click.IntRange(0, 256),
    default=None,
    help="Grow masks by this many pixels [default: 0.6 % of the frame's long side, at least 3].",
)
@click.option(
    "--box-margin",
    default=_DEFAULTS.box_margin_ratio,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Grow each detected box by this share of its size on every side (boxes often cut off a hand "
    "or a head).",
)
@click.option(
    "--shadow-margin",
    default=_DEFAULTS.shadow_margin_ratio,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Grow each mask around the object's feet or wheels by this share of its height, for its shadow.",
)
@click.option(
    "--window",
    default=_DEFAULTS.window_radius,
    show_default=True,
    type=click.IntRange(1, 120),
    help="Frames before and after each frame that may lend it background (memory grows with it).",
)
@click.option("--detect-every", default=1, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--lookahead",
    default=_DEFAULTS.lookahead_frames,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Also remove each object on this many frames before it is first detected.",
)
@models_dir_option
@click.option("--crf", default=api.EncoderConfig().crf, show_default=True, type=int, help="Output quality.")
@click.option("--preset", default=api.EncoderConfig().preset, show_default=True, help="Encoder speed preset.")
@click.option("--no-audio", is_flag=True, help="Drop audio (by default it is copied untouched).")
@report_options
@quiet_option
def remove(
    input_path: Path,
    output: Path,
    targets: str,
    track_id: int | None,
    box: str | None,
    still_object: bool,
    detections: Path | None,
    threshold: float,
    silhouettes: bool,
    no_motion: bool,
    dilate: int | None,
    box_margin: float,
    shadow_margin: float,
    window: int,
    detect_every: int,
    lookahead: int,
    models_dir: Path | None,
    crf: int,
    preset: str,
    no_audio: bool,
    json_report: bool,
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Remove persons and vehicles from a video, filling in the background other frames show."""
    check_report_path(
        report_path, inputs=(input_path, *([detections] if detections else [])), outputs=(output,)
    )
    settings = api.RemovalSettings(
        targets=parse_targets(targets),
        track_id=track_id,
        box_xyxy=_parse_box(box),
        detections=detections,
        score_threshold=threshold,
        detect_every=detect_every,
        lookahead_frames=lookahead,
        motion=not no_motion,
        silhouettes=silhouettes,
        dilate_px=dilate,
        box_margin_ratio=box_margin,
        shadow_margin_ratio=shadow_margin,
        window_radius=window,
        output=api.OutputSettings(encoder=api.EncoderConfig(crf=crf, preset=preset), keep_audio=not no_audio),
        models_dir=models_dir,
    )
    report = api.remove(input_path, output, settings, still_object=still_object)
    emit_report(
        report, removal_summary(report), json_report=json_report, report_path=report_path, quiet=quiet
    )
