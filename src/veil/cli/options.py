"""Options several commands share, and the target parser with click's errors (so the option is named)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from click.decorators import FC

from veil import api
from veil.api import Device, FailMode, Precision, PrivacyLevel
from veil.errors import ConfigError
from veil.types import ObjectClass

__all__ = [
    "device_option",
    "models_dir_option",
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
