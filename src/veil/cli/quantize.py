"""``veil models quantize``: derive the int8 detectors and show how far each agrees with float."""

from __future__ import annotations

from pathlib import Path

import click

from veil import api
from veil.cli.options import models_dir_option

__all__ = ["models_quantize"]


@click.command("quantize")
@models_dir_option
@click.option(
    "--calibration",
    "calibration",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    envvar="VEIL_DATA_DIR",
    help="Images, videos or folders of them, typical of your footage (repeat the option) "
    "[env VEIL_DATA_DIR]. Half their frames calibrate, the other half check each int8 model "
    "against float.",
)
@click.option("--force", is_flag=True, help="Derive again even where a checked int8 model is cached.")
def models_quantize(models_dir: Path | None, calibration: tuple[Path, ...], force: bool) -> None:
    """Derive int8 detectors (CenterFace, LPD-YuNet, PP-OCR text) for --precision int8.

    Each is written to the cache's models/derived folder with its sha256 and its agreement with the
    float model: the share of float's regions it finds on held-out frames, beside float's own share
    after a one-pixel shift. One below the bar stays float32 (`veil anonymize --precision int8` then
    runs float for it). `veil models verify` checks them; a changed one is derived again here.
    """
    if not calibration:
        raise click.UsageError(
            "name frames typical of your footage with --calibration PATH (or set VEIL_DATA_DIR)"
        )
    for model in api.quantize_models(list(calibration), models_dir=models_dir, force=force):
        a = model.agreement
        verdict = "int8 " if model.passed else "float"
        state = "derived" if model.derived else "cached"
        click.echo(
            f"{verdict} {model.backend:<11} {state}: found {100 * a.recall:.1f} % of float's "
            f"{a.float_regions} regions scoring >= {a.score_threshold:g} on {a.frames} held-out frames "
            f"(float after a 1-px shift: {100 * a.reference_recall:.1f} %), mean IoU {a.mean_iou:.2f}; "
            f"{model.path}"
        )
