"""The ``veil edge`` command: anonymize a live source on this device and ship segments to a server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from veil import api
from veil.api import DEFAULT_TARGETS
from veil.cli.options import models_dir_option, obfuscator_option

__all__ = ["edge"]

_TARGETS = ",".join(sorted(c.value for c in DEFAULT_TARGETS))


@click.command()
@click.argument("source")
@click.option("--server", required=True, help="The Veil server, e.g. https://host:8443.")
@click.option(
    "--key", required=True, envvar="VEIL_KEY", help="This device's API key (submit scope) [env VEIL_KEY]."
)
@click.option(
    "--stream-id", default="edge", show_default=True, help="Names this stream's segments on the server."
)
@click.option(
    "--segment-s", default=10.0, show_default=True, type=click.FloatRange(min=0.5), help="Segment length."
)
@click.option("--targets", default=_TARGETS, show_default=True, help="Classes to hide on the device.")
@click.option(
    "--method",
    "methods",
    default="blur",
    show_default=True,
    help="blur, pixelate, mask, cartoon, false-colour, warp, abstraction, token or expression "
    "(per class too; see veil anonymize --help), or obfuscator: every whole frame through the trained "
    "network of --obfuscator on this device, nothing detected; only its output is uploaded.",
)
@obfuscator_option
@click.option(
    "--spool-dir", type=click.Path(path_type=Path, file_okay=False), help="Keep segments here until sent."
)
@click.option("--max-frames", type=click.IntRange(1), help="Stop after this many frames.")
@click.option(
    "--ca-cert", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="CA of the server."
)
@models_dir_option
def edge(
    source: str,
    server: str,
    key: str,
    stream_id: str,
    segment_s: float,
    targets: str,
    methods: str,
    obfuscator: Path | None,
    spool_dir: Path | None,
    max_frames: int | None,
    ca_cert: Path | None,
    models_dir: Path | None,
) -> None:
    """Anonymize SOURCE (rtsp://…, a device or a file) live, here; upload only anonymized segments."""
    from veil.edge import EdgeSettings, run_edge

    config = api.UserChoices(
        targets=targets, methods=methods, lookahead_frames=0, models_dir=models_dir, obfuscator=obfuscator
    ).to_config()
    report = run_edge(
        EdgeSettings(
            source=source,
            server=server,
            key=key,
            stream_id=stream_id,
            segment_s=segment_s,
            config=config,
            spool_dir=spool_dir,
            max_frames=max_frames,
            ca_cert=ca_cert,
        )
    )
    click.echo(
        json.dumps({"frames": report.frames, "segments": report.segments, "jobs": report.uploaded}), err=True
    )
    if report.failures:
        for failure in report.failures:
            click.echo(f"veil: not delivered: {failure}", err=True)
        sys.exit(4)
