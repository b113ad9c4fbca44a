"""The service's settings: one frozen object built by ``veil serve`` and handed to the app and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from veil.errors import ConfigError

__all__ = ["Limits", "ServiceSettings"]


@dataclass(frozen=True)
class Limits:
    """What an upload may be; larger or longer uploads are refused before any work starts.

    Args:
        max_upload_bytes: largest accepted upload (video or image).
        max_image_bytes: largest image accepted by the synchronous image endpoint.
        max_duration_s: longest accepted video.
        max_width_px, max_height_px: largest accepted frame size (either orientation).
        max_form_field_bytes: largest non-file form field.
    """

    max_upload_bytes: int = 2 * 1024**3
    max_image_bytes: int = 50 * 1024**2
    max_duration_s: float = 3600.0
    max_width_px: int = 7680
    max_height_px: int = 4320
    max_form_field_bytes: int = 16 * 1024

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_image_bytes", "max_width_px", "max_height_px"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be positive")
        if self.max_duration_s <= 0:
            raise ConfigError(f"max_duration_s={self.max_duration_s!r} must be positive")


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service needs to run.

    Args:
        data_dir: holds the SQLite store, encrypted blobs and scratch space.
        workers: number of worker processes.
        encryption_key_file: file with the base64 AES-256 key for data at rest; None: the
            ``VEIL_SERVICE_KEY`` environment variable, else ``DATA_DIR/secret.key`` (created on first start).
        result_ttl_s: results (and retained originals) are erased this long after the job ends.
        max_attempts: a job whose worker dies is retried until it has been started this many times.
        lease_s: a running job whose worker has not renewed its lease for this long is taken back.
        rate_per_minute, rate_burst: default request budget of a key (token bucket).
        pipeline_factory: ``"module:callable"`` building a Pipeline from a PipelineConfig (tests use
            ``veil.service.fakes:fake_pipeline``).
        limits: upload limits.
        poll_interval_s: how often idle workers look for work.
        allow_private_webhooks: let webhooks go to loopback and private addresses (a test rig, an
            intranet); by default they go to public addresses only. Link-local and cloud metadata
            addresses are refused either way.
        image_slots: synchronous image requests processed at once (each slot loads its own models).
        image_queue_per_tenant: image requests of one tenant that may wait for a slot; more get 429.
        obfuscator: the trained obfuscator (ONNX) that jobs and images with ``method=obfuscator`` use;
            None: such requests are refused (422). Clients never name a model file themselves.
    """

    data_dir: Path
    workers: int = 2
    encryption_key_file: Path | None = None
    result_ttl_s: float = 7 * 24 * 3600.0
    max_attempts: int = 3
    lease_s: float = 60.0
    rate_per_minute: float = 600.0
    rate_burst: int = 60
    pipeline_factory: str = "veil.api:open_pipeline"
    limits: Limits = field(default_factory=Limits)
    poll_interval_s: float = 0.2
    allow_private_webhooks: bool = False
    image_slots: int = 2
    image_queue_per_tenant: int = 8
    obfuscator: Path | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.workers <= 64:
            raise ConfigError(f"workers={self.workers!r} is out of range [0, 64]")
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts={self.max_attempts!r} must be at least 1")
        if self.result_ttl_s <= 0 or self.lease_s <= 0:
            raise ConfigError("result_ttl_s and lease_s must be positive")
        if self.rate_per_minute <= 0 or self.rate_burst < 1:
            raise ConfigError("rate_per_minute must be positive and rate_burst at least 1")
        if not 1 <= self.image_slots <= 64 or self.image_queue_per_tenant < 0:
            raise ConfigError(
                f"image_slots={self.image_slots!r} must be in [1, 64] and "
                f"image_queue_per_tenant={self.image_queue_per_tenant!r} at least 0"
            )
        if ":" not in self.pipeline_factory:
            raise ConfigError(f"pipeline_factory={self.pipeline_factory!r} must look like 'module:callable'")

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self.data_dir / "veil.sqlite3"

    @property
    def blob_dir(self) -> Path:
        """Encrypted uploads and results."""
        return self.data_dir / "blobs"

    @property
    def work_dir(self) -> Path:
        """Scratch space for plaintext while a request or a job is using it; emptied on start."""
        return self.data_dir / "work"
