"""``veil scramble`` and ``veil unscramble``: encrypt regions reversibly, and restore them with the key."""

from __future__ import annotations

from pathlib import Path

import click

from veil import api
from veil.api import PrivacyLevel
from veil.cli.options import models_dir_option, privacy_option, quiet_option

__all__ = ["scramble", "unscramble"]

_KEY_HELP = (
    "File holding the secret (16+ bytes; make one with: head -c 32 /dev/urandom > veil.key) "
    "[else $VEIL_METHOD_KEY]. It is never written anywhere: keep it apart from the output."
)
_REGIONS_HELP = "The encrypted region list [default: OUTPUT.veil-regions beside the output]."


def _secret(key_file: Path | None) -> bytes:
    secret = api.read_method_key(key_file)
    if secret is None:
        raise click.UsageError("give the key: --key-file FILE, or set $VEIL_METHOD_KEY")
    return secret


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Lossless output: .png for an image, .mkv for a video (FFV1, audio copied). Any other suffix "
    "is refused: a lossy codec changes the ciphertext, and the regions could never be restored.",
)
@click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False), help=_KEY_HELP)
@click.option(
    "--regions", "regions_path", type=click.Path(path_type=Path, dir_okay=False), help=_REGIONS_HELP
)
@click.option("--targets", default="face,plate", show_default=True, help="Classes to scramble.")
@click.option("--margin", type=float, default=None, help="Grow each region by this share of its size.")
@privacy_option("How hard to look for regions (as veil anonymize --privacy).")
@click.option(
    "--from-detections",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Scramble the regions of this (reviewed) detections JSON instead of detecting.",
)
@click.option("--no-audio", is_flag=True, help="Drop audio (by default it is copied untouched).")
@models_dir_option
@quiet_option
def scramble(
    input_path: Path,
    output: Path,
    key_file: Path | None,
    regions_path: Path | None,
    targets: str,
    margin: float | None,
    privacy_level: str,
    from_detections: Path | None,
    no_audio: bool,
    models_dir: Path | None,
    quiet: bool,
) -> None:
    """Encrypt faces and plates in place, so that only the key holder can restore them.

    Each region's pixels become their AES-256-GCM ciphertext (noise to anyone else), under a nonce of
    its own; where the regions are, their nonces and tags go into an encrypted region list beside the
    output. `veil unscramble` with the same key restores them bit-exactly (a data subject's access
    request, an authorised investigation); with another key, or after any pixel changed, it refuses.
    """
    secret = _secret(key_file)
    config = api.UserChoices(
        targets=targets,
        privacy=PrivacyLevel(privacy_level),
        margin=margin,
        keep_audio=not no_audio,
        models_dir=models_dir,
    ).to_config()
    report = api.scramble_path(
        input_path, output, secret, config, regions_path=regions_path, from_detections=from_detections
    )
    if not quiet:
        click.echo(
            f"veil: {report.regions} regions scrambled in {report.frames} frame(s); "
            f"region list: {report.region_list}",
            err=True,
        )


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Restored output: .png for an image, .mkv for a video (lossless, audio copied).",
)
@click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False), help=_KEY_HELP)
@click.option(
    "--regions",
    "regions_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The region list veil scramble wrote [default: INPUT.veil-regions beside the input].",
)
@quiet_option
def unscramble(
    input_path: Path, output: Path, key_file: Path | None, regions_path: Path | None, quiet: bool
) -> None:
    """Restore the regions `veil scramble` encrypted, bit-exactly, with its key.

    A wrong key (exit 2), a changed pixel in a scrambled region or a missing region list (exit 4) is
    an error with nothing written: never silently wrong pixels.
    """
    report = api.unscramble_path(input_path, output, _secret(key_file), regions_path=regions_path)
    if not quiet:
        click.echo(f"veil: {report.regions} regions restored in {report.frames} frame(s)", err=True)
