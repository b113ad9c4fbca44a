"""``veil eval``: privacy, utility and speed of anonymization methods on an annotated data set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

# The CLI reaches the evaluation through the package's public surface, as it does veil.api.
from veil import api
from veil.cli.options import models_dir_option, parse_targets, quiet_option, threads_option
from veil.cli.progress import FrameProgress
from veil.errors import ConfigError

__all__ = ["eval_command"]

_FORMATS = ("auto", "dlib", "openalpr", "coco", "mot")


@click.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--format",
    "dataset_format",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help="Annotation format: dlib imglab XML, an OpenALPR folder of .txt boxes, COCO JSON or MOTChallenge "
    "gt.txt; auto tells them apart by name.",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Run every method: the originals, each method of Veil's menu (blur, pixelate, mask, cartoon, "
    "false-colour, warp, abstraction, token, expression), and four whole-frame baselines (9×9 Gaussian "
    "blur, 7.5 % noise, 8 levels, pixelation to a third).",
)
@click.option(
    "--methods",
    default="blur",
    show_default=True,
    help="Methods to run when not comparing: original, blur, pixelate, mask, cartoon, false-colour, warp, "
    "abstraction, token, expression (needs the expression extra), global-blur, global-noise, "
    "global-quantize, global-pixelate.",
)
@click.option(
    "--targets",
    default="face,plate",
    show_default=True,
    help="Classes Veil's methods hide.",
)
@click.option("--limit", default=0, show_default=True, type=int, help="Use only the first N images (0: all).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the figures as JSON here.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write an HTML report here.")
@click.option(
    "--plot", "plot_path", type=click.Path(path_type=Path), help="Write the privacy–utility plot (PNG)."
)
@threads_option
@models_dir_option
@quiet_option
def eval_command(
    dataset: Path,
    dataset_format: str,
    compare: bool,
    methods: str,
    targets: str,
    limit: int,
    json_path: Path | None,
    html_path: Path | None,
    plot_path: Path | None,
    threads: int,
    models_dir: Path | None,
    quiet: bool,
) -> None:
    """Measure anonymization on the annotated data set DATASET and print a privacy–utility table.

    Privacy recall: annotated faces, plates and text hidden and no longer found or read. Utility:
    person and vehicle detection (YOLOX-nano AP50), similarity outside the hidden regions (SSIM),
    counting error. Speed: milliseconds per image.
    """
    try:
        chosen = (
            api.COMPARED_METHODS
            if compare
            else tuple(api.EvalMethod.parse(m) for m in methods.split(",") if m.strip())
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--methods") from None
    options = api.EvalOptions(
        methods=chosen, targets=parse_targets(targets), models_dir=models_dir, limit=limit, threads=threads
    )
    fmt = None if dataset_format == "auto" else api.DatasetFormat(dataset_format)
    with FrameProgress(enabled=not quiet and sys.stderr.isatty()) as progress:
        report = api.evaluate(dataset, options, progress, dataset_format=fmt)
    click.echo(report.table_text())
    click.echo(f"({report.images} images, {report.seconds:.1f} s)")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    if plot_path is not None:
        api.save_eval_plot(report, plot_path)
    if html_path is not None:
        api.save_eval_html(report, html_path)
