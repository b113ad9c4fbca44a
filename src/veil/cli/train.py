"""``veil train obfuscator``: train the learned whole-frame obfuscator and export it to ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from veil import api
from veil.cli.options import models_dir_option, quiet_option

__all__ = ["train"]


@click.group()
def train() -> None:
    """Train models Veil can use (needs the train extra: pip install 'veil[train]')."""


@train.command("obfuscator")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The ONNX model to write.",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Checkpoint, log.csv, log.json and losses.png go here (default: OUTPUT.train). A run that "
    "finds a checkpoint there resumes from it.",
)
@click.option("--restart", is_flag=True, help="Discard the work folder's checkpoint and start over.")
@click.option("--epochs", default=api.TrainConfig.epochs, show_default=True, type=int)
@click.option("--batch-size", default=api.TrainConfig.batch_size, show_default=True, type=int)
@click.option(
    "--per-video",
    default=32,
    show_default=True,
    type=int,
    help="Frames taken from each video, evenly spread over its first --share.",
)
@click.option(
    "--share",
    default=0.7,
    show_default=True,
    type=float,
    help="Share of each video (from its start) frames are taken from; the rest stays unseen for evaluation.",
)
@click.option("--crops-per-frame", default=api.TrainConfig.crops_per_frame, show_default=True, type=int)
@click.option(
    "--alpha-rec",
    default=api.TrainConfig.alpha_rec,
    show_default=True,
    type=float,
    help="Weight of the de-obfuscator's error in the obfuscator's loss: higher hides more, keeps less.",
)
@click.option("--alpha-obj", default=api.TrainConfig.alpha_obj, show_default=True, type=float)
@click.option(
    "--utility-loss",
    type=click.Choice([u.value for u in api.UtilityLoss]),
    default=api.TrainConfig.utility.value,
    show_default=True,
    help="pseudo-label: the detector's loss against its confident detections on the original; "
    "distill: match its outputs on the original.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where to train: auto takes a CUDA GPU when PyTorch sees one.",
)
@click.option(
    "--threads", default=0, show_default=True, type=int, help="PyTorch CPU threads (0: its default)."
)
@click.option("--stop-after", default=None, type=int, help="Stop (checkpointed) after this many steps.")
@models_dir_option
@quiet_option
def obfuscator(
    inputs: tuple[Path, ...],
    output: Path,
    work_dir: Path | None,
    restart: bool,
    epochs: int,
    batch_size: int,
    per_video: int,
    share: float,
    crops_per_frame: int,
    alpha_rec: float,
    alpha_obj: float,
    utility_loss: str,
    seed: int,
    device: str,
    threads: int,
    stop_after: int | None,
    models_dir: Path | None,
    quiet: bool,
) -> None:
    """Train an obfuscator on FRAMES_OR_VIDEOS (images, videos, folders of them) and write it as ONNX.

    The obfuscator learns to transform whole frames so that the frozen YOLOX-nano detector still finds
    what it found on the originals while a de-obfuscator, trained against it, cannot rebuild them.
    Apply it with: veil anonymize IN -o OUT --method obfuscator --obfuscator MODEL.onnx
    """
    config = api.TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        crops_per_frame=crops_per_frame,
        alpha_rec=alpha_rec,
        alpha_obj=alpha_obj,
        utility=api.UtilityLoss(utility_loss),
        seed=seed,
    )
    bar: Any = None

    def on_step(step: Any) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=step.total_steps, initial=step.step - 1, unit="step", dynamic_ncols=True)
        bar.set_postfix(epoch=step.epoch, L_obj=f"{step.l_obj:.3f}", L_rec=f"{step.l_rec:.4f}")
        bar.update(1)

    try:
        summary = api.train_obfuscator(
            inputs,
            output,
            config,
            work_dir=work_dir,
            restart=restart,
            per_video=per_video,
            share=share,
            device=device,
            threads=threads,
            models_dir=models_dir,
            on_step=on_step,
            stop_after=stop_after,
        )
    finally:
        if bar is not None:
            bar.close()
    if quiet:
        return
    if summary.get("finished"):
        work = work_dir or output.with_name(output.name + ".train")
        click.echo(
            f"wrote {output} ({summary['obfuscator_parameters']:,} parameters, "
            f"{summary['train_seconds']:.0f} s of training); log and plot in {work}",
            err=True,
        )
    else:
        click.echo("stopped before the last step; run the same command again to resume", err=True)
