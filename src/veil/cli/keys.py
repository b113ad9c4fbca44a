"""The ``veil keys`` commands: create (shown once), list and revoke the service's API keys."""

from __future__ import annotations

import time
from pathlib import Path

import click

__all__ = ["keys"]

_data_dir = click.option(
    "--data-dir",
    required=True,
    envvar="VEIL_SERVICE_DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="The service's data folder [env VEIL_SERVICE_DIR].",
)
_key_file = click.option(
    "--encryption-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The data key given to `veil serve` [else env VEIL_SERVICE_KEY, else DATA_DIR/secret.key].",
)


@click.group()
def keys() -> None:
    """Create, list and revoke API keys of `veil serve` (stored as scrypt hashes)."""


@keys.command("create")
@click.option("--name", required=True, help="What the key is for (e.g. camera-7).")
@click.option("--scope", "scopes", default="submit,read", show_default=True, help="submit, read, admin.")
@click.option("--tenant", default="default", show_default=True, help="A key sees only its tenant's jobs.")
@click.option("--rate-per-minute", type=click.FloatRange(min=0.01), help="Request budget of this key.")
@_data_dir
@_key_file
def create(
    name: str,
    scopes: str,
    tenant: str,
    rate_per_minute: float | None,
    data_dir: Path,
    encryption_key_file: Path | None,
) -> None:
    """Create a key; print it once on stdout (store it now: it cannot be shown again)."""
    from veil.service import ServiceSettings, ServiceState, parse_scopes

    state = ServiceState.open(ServiceSettings(data_dir=data_dir, encryption_key_file=encryption_key_file))
    try:
        created = state.keys.create(name, parse_scopes(scopes), tenant, rate_per_minute)
        record = created.record
        state.audit.record(
            actor="cli",
            tenant=tenant,
            action="key.created",
            target=record.key_id,
            detail={"name": name, "scopes": sorted(s.value for s in record.scopes)},
        )
    finally:
        state.close()
    click.echo(created.token)
    click.echo(
        f"veil: key {record.key_id} ({name}, tenant {tenant}, scopes {scopes}); "
        f"webhook signing secret: {created.webhook_secret}",
        err=True,
    )


@keys.command("list")
@_data_dir
@_key_file
def list_keys(data_dir: Path, encryption_key_file: Path | None) -> None:
    """List keys (never their secrets)."""
    from veil.service import ServiceSettings, ServiceState

    state = ServiceState.open(ServiceSettings(data_dir=data_dir, encryption_key_file=encryption_key_file))
    try:
        for record in state.keys.records():
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(record.created_at))
            scopes = ",".join(sorted(s.value for s in record.scopes))
            status = "revoked" if record.revoked else "active"
            click.echo(
                f"{record.key_id}  {record.name:<20} {record.tenant:<12} {scopes:<18} {created}Z  {status}"
            )
    finally:
        state.close()


@keys.command("revoke")
@click.argument("key_id")
@_data_dir
@_key_file
def revoke(key_id: str, data_dir: Path, encryption_key_file: Path | None) -> None:
    """Revoke a key by its id (the middle part of the key)."""
    from veil.service import ServiceSettings, ServiceState

    state = ServiceState.open(ServiceSettings(data_dir=data_dir, encryption_key_file=encryption_key_file))
    try:
        if not state.keys.revoke(key_id):
            raise click.ClickException(f"no active key {key_id}")
        state.audit.record(actor="cli", tenant="-", action="key.revoked", target=key_id)
    finally:
        state.close()
    click.echo(f"revoked {key_id}")
