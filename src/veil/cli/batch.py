"""``veil batch``: anonymize many files and long videos into a folder, resumably, locally or on Ray."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from veil import api
from veil.cli.exit_codes import ExitCode
from veil.cli.options import anonymize_options, anonymize_settings, quiet_option
from veil.cli.progress import progress_for
from veil.cli.reporting import check_report_path, emit_report, report_options

__all__ = ["batch"]

_DEFAULTS = api.BatchSettings()


def _summary(report: api.BatchReport) -> str:
    done = [r for r in report.inputs if r.state == "done"]
    reused = sum(r.reused for r in done)
    segments = sum(r.segments for r in done)
    retries = sum(r.retries for r in report.inputs)
    return (
        f"{len(done)} of {len(report.inputs)} inputs done ({reused} from an earlier run), "
        f"{report.frames} frames, {segments} segments, {retries} retried, in {report.elapsed_s:.1f} s"
    )


@click.command()
@click.argument("sources", metavar="SRC...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder. Files go in by name, folders with their tree mirrored (as veil anonymize "
    "does); OUT_DIR/.veil-batch keeps the run's manifest, so running the same command again redoes "
    "only what is missing.",
)
@click.option(
    "--engine",
    type=click.Choice([e.value for e in api.BatchEngine]),
    default=_DEFAULTS.engine.value,
    show_default=True,
    help="local: worker processes on this machine. ray: tasks on a Ray cluster (pip install "
    "'veil[ray]'); without --address a Ray instance is started here for the run.",
)
@click.option(
    "--address",
    default=None,
    help="The Ray head to run on, HOST:PORT (ray start --head prints it); checked within seconds.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    default=_DEFAULTS.workers,
    show_default=True,
    help="Units run at once: processes, or Ray actors, each with its models loaded once.",
)
@click.option(
    "--segment",
    "segment_s",
    type=click.FloatRange(1.0, 86_400.0),
    default=_DEFAULTS.segment_s,
    show_default=True,
    help="Split videos longer than 1.5× this many seconds at keyframes into segments of about this "
    "length, run in parallel and joined back (.mp4/.mov outputs); shorter ones go whole.",
)
@anonymize_options
@report_options
@quiet_option
def batch(
    sources: tuple[str, ...],
    out_dir: Path,
    engine: str,
    address: str | None,
    workers: int,
    segment_s: float,
    json_report: bool,
    report_path: Path | None,
    quiet: bool,
    **choices: Any,
) -> None:
    """Anonymize files, folders, globs (quoted) and list files (.txt, one path a line) into OUT_DIR.

    Every option of veil anonymize applies. An input that fails is listed and the others finish
    (exit 7); Ctrl-C keeps what was done for the next run.
    """
    check_report_path(report_path, inputs=tuple(Path(s) for s in sources), outputs=(out_dir,))
    config, options = anonymize_settings(choices)
    settings = api.BatchSettings(
        engine=api.BatchEngine(engine), workers=workers, address=address, segment_s=segment_s
    )
    with progress_for(quiet=quiet) as progress:
        report = api.batch(list(sources), out_dir, config, options, settings, progress)
    emit_report(
        report,
        _summary(report),
        json_report=json_report,
        report_path=report_path,
        quiet=quiet,
        warnings=report.warnings,
    )
    if report.failures:
        for failure in report.failures:
            click.echo(f"veil: failed: {failure}", err=True)
        sys.exit(ExitCode.PARTIAL)
