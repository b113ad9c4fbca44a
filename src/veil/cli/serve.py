"""The ``veil serve`` command: run the HTTPS API, the job workers and the web console."""

from __future__ import annotations

import logging
from pathlib import Path

import click

__all__ = ["serve"]


@click.command()
@click.option(
    "--data-dir",
    required=True,
    envvar="VEIL_SERVICE_DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the job store, encrypted uploads and results [env VEIL_SERVICE_DIR].",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False), help="PEM certificate (chain).")
@click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False), help="PEM private key.")
@click.option(
    "--insecure", is_flag=True, help="Serve plain HTTP; refused unless --host is a loopback address."
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0, 64), help="Worker processes.")
@click.option(
    "--encryption-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Base64 AES-256 key for data at rest [else env VEIL_SERVICE_KEY, else DATA_DIR/secret.key, "
    "created on first start]. Keep it on another volume than the data.",
)
@click.option(
    "--result-ttl-hours",
    default=168.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Results expire.",
)
@click.option(
    "--max-attempts",
    default=3,
    show_default=True,
    type=click.IntRange(1, 20),
    help="Starts per job before it fails.",
)
@click.option(
    "--max-upload-mb", default=2048, show_default=True, type=click.IntRange(1), help="Largest upload."
)
@click.option(
    "--max-duration-s", default=3600.0, show_default=True, type=click.FloatRange(min=1), help="Longest video."
)
@click.option(
    "--max-width", default=7680, show_default=True, type=click.IntRange(16), help="Widest frame (px)."
)
@click.option(
    "--max-height", default=4320, show_default=True, type=click.IntRange(16), help="Tallest frame (px)."
)
@click.option(
    "--rate-per-minute",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Requests per minute per key, unless the key sets its own.",
)
@click.option(
    "--allow-private-webhooks",
    is_flag=True,
    help="Let webhooks go to loopback and private addresses (an intranet); by default only public ones, "
    "so a client cannot make the server call into its own network.",
)
@click.option(
    "--obfuscator",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A trained obfuscator (ONNX, from veil train obfuscator) for jobs and images that ask for "
    "method=obfuscator; checked at start (exit 3 if it is not one). Without it such requests get 422. "
    "Clients cannot name a model file.",
)
@click.option("--pipeline-factory", default="veil.api:open_pipeline", hidden=True)
def serve(
    data_dir: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    insecure: bool,
    workers: int,
    encryption_key_file: Path | None,
    result_ttl_hours: float,
    max_attempts: int,
    max_upload_mb: int,
    max_duration_s: float,
    max_width: int,
    max_height: int,
    rate_per_minute: float,
    allow_private_webhooks: bool,
    obfuscator: Path | None,
    pipeline_factory: str,
) -> None:
    """Serve the HTTPS API (jobs, synchronous images) and the web console at https://HOST:PORT/."""
    from veil.service import Limits, ServiceSettings
    from veil.service import serve as run_server

    settings = ServiceSettings(
        data_dir=data_dir,
        workers=workers,
        encryption_key_file=encryption_key_file,
        result_ttl_s=result_ttl_hours * 3600,
        max_attempts=max_attempts,
        rate_per_minute=rate_per_minute,
        pipeline_factory=pipeline_factory,
        allow_private_webhooks=allow_private_webhooks,
        obfuscator=obfuscator,
        limits=Limits(
            max_upload_bytes=max_upload_mb * 1024**2,
            max_duration_s=max_duration_s,
            max_width_px=max_width,
            max_height_px=max_height,
        ),
    )
    scheme = "http" if tls_cert is None else "https"
    click.echo(
        f"veil: serving {scheme}://{host}:{port}/ with {workers} workers, data in {data_dir}", err=True
    )
    run_server(settings, host, port, tls_cert, tls_key, insecure, log_level=logging.getLogger().level)
