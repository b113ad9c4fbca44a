"""Where a run report goes: JSON on stdout (``--json``) or in a file (``--report``), one line on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.decorators import FC

from veil import api
from veil.api import JsonReport, LiveReport

__all__ = [
    "check_report_path",
    "emit_report",
    "live_summary",
    "profile_table",
    "removal_summary",
    "report_options",
]


def report_options(command: FC) -> FC:
    """Add ``--json`` (passed as ``json_report``) and ``--report FILE`` (``report_path``) to ``command``."""
    command = click.option(
        "--report",
        "report_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Also write the run report as JSON to this file (its folder is checked before the run).",
    )(command)
    return click.option(
        "--json",
        "json_report",
        is_flag=True,
        help="Print the run report as JSON on stdout (stderr keeps the one-line summary), for `| jq`.",
    )(command)


def check_report_path(
    report_path: Path | None, *, inputs: tuple[Path, ...] = (), outputs: tuple[Path, ...] = ()
) -> None:
    """Refuse a ``--report`` file that cannot be written, or is an input or the output, before any work."""
    if report_path is None:
        return
    if not report_path.parent.is_dir():
        raise click.BadParameter(f"folder {report_path.parent} does not exist", param_hint="--report")
    for kind, paths in (("input", inputs), ("output", outputs)):
        if any(report_path.resolve() == path.resolve() for path in paths):
            raise click.BadParameter(f"is the {kind} itself", param_hint="--report")


def emit_report(
    report: JsonReport,
    summary: str,
    *,
    json_report: bool,
    report_path: Path | None,
    quiet: bool,
    warnings: tuple[str, ...] | list[str] = (),
) -> None:
    """Print ``report`` as JSON on stdout and/or save it, and ``summary`` (unless ``quiet``) on stderr."""
    if json_report:
        click.echo(json.dumps(report.to_dict()))
    if report_path is not None:
        api.save_report(report, report_path)
    if not quiet:
        click.echo(f"veil: {summary}", err=True)
        for warning in warnings:
            click.echo(f"veil: warning: {warning}", err=True)


def profile_table(report: api.RunReport) -> str:
    """Return the run's per-stage times as a table for people (empty stages: the input was an image)."""
    if not report.stage_times:
        return "veil: profile: no stage was timed (stages are timed for video)"
    lines = [f"{'stage':<22}{'wall s':>9}{'CPU s':>9}{'calls':>8}{'ms/call':>9}  (stages overlap on threads)"]
    for name, times in report.stage_times.items():
        per_call = 1000 * times.wall_s / times.calls if times.calls else 0.0
        lines.append(f"{name:<22}{times.wall_s:>9.2f}{times.cpu_s:>9.2f}{times.calls:>8}{per_call:>9.1f}")
    lines.append(f"{'whole run':<22}{report.elapsed_s:>9.2f}{'':>9}{report.frames_read:>8}")
    return "\n".join(lines)


def removal_summary(report: api.RemovalReport) -> str:
    """Return one line for people about a ``veil remove`` run."""
    return (
        f"{report.frames_written} of {report.frames_read} frames written to {report.output} in "
        f"{report.elapsed_s:.1f} s; {report.frames_with_mask} had something removed "
        f"({report.still_frames} filled from the still background, {report.moving_frames} by optical flow)"
    )


def live_summary(report: LiveReport) -> str:
    """Return one line for people about a ``veil stream`` run."""
    latency = report.latency.to_dict()
    return (
        f"{report.frames_written} frames sent to {report.destination} in {report.elapsed_s:.1f} s "
        f"({report.frames_anonymized} anonymized, {report.frames_dropped} dropped, "
        f"{report.frames_repeated} repeated, {report.frames_late} late); latency p50 "
        f"{latency['p50_ms']} ms, p95 {latency['p95_ms']} ms; ended: {report.ended_by or 'end of stream'}"
    )
