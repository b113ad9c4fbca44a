"""The objects one process of the service shares: database, job store, blobs, keys and audit log."""

from __future__ import annotations

from dataclasses import dataclass

from veil.service.audit_log import AuditLog
from veil.service.blobs import BlobStore
from veil.service.crypto import load_key
from veil.service.db import Database
from veil.service.jobs import JobStore
from veil.service.keys import ApiKeyStore
from veil.service.settings import ServiceSettings
from veil.service.webhook_queue import WebhookQueue

__all__ = ["ServiceState"]


@dataclass(frozen=True)
class ServiceState:
    """Everything backed by the data directory, opened once per process."""

    settings: ServiceSettings
    db: Database
    jobs: JobStore
    blobs: BlobStore
    keys: ApiKeyStore
    audit: AuditLog
    webhooks: WebhookQueue

    @classmethod
    def open(cls, settings: ServiceSettings) -> ServiceState:
        """Open (creating if needed) the data directory of ``settings``."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)
        key = load_key(settings.encryption_key_file, settings.data_dir / "secret.key")
        db = Database(settings.db_path)
        return cls(
            settings=settings,
            db=db,
            jobs=JobStore(db, settings.max_attempts, settings.result_ttl_s),
            blobs=BlobStore(key, settings.blob_dir, settings.work_dir),
            keys=ApiKeyStore(db, key),
            audit=AuditLog(db),
            webhooks=WebhookQueue(db),
        )

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()
