"""Fixtures for the service's API tests, imported by them (a conftest.py here shadows tests/conftest.py)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from veil.service import Limits, ServiceSettings, create_app
from veil.service.context import AppContext
from veil.service.keys import parse_scopes
from veil.service.worker import Worker


@pytest.fixture
def service_settings(tmp_path: Path) -> ServiceSettings:
    """Settings for a test app: no worker processes (tests run jobs in-process), a fake pipeline."""
    return ServiceSettings(
        data_dir=tmp_path / "data",
        workers=0,
        pipeline_factory="veil.service.fakes:fake_pipeline",
        rate_per_minute=100_000,
        rate_burst=10_000,
        allow_private_webhooks=True,  # the webhook test's receiver listens on loopback
        limits=Limits(
            max_upload_bytes=2_000_000,
            max_image_bytes=1_000_000,
            max_duration_s=30,
            max_width_px=1920,
            max_height_px=1080,
        ),
    )


@dataclass
class Service:
    """A running test app and handles on its internals."""

    client: TestClient
    context: AppContext

    def key(self, scopes: str = "submit,read", tenant: str = "acme") -> dict[str, str]:
        """Create a key and return the Authorization header that carries it."""
        created = self.context.state.keys.create(f"test-{scopes}", parse_scopes(scopes), tenant)
        return {"Authorization": f"Bearer {created.token}"}

    def run_jobs(self) -> int:
        """Run queued jobs in this process until none is left; return how many ran."""
        worker = Worker(self.context.state, os.getppid())
        count = 0
        while worker.run_one():
            count += 1
        return count

    def data_files(self) -> list[Path]:
        """Every file under the data folder except the database and the key."""
        root = self.context.state.settings.data_dir
        return sorted(
            p for p in root.rglob("*") if p.is_file() and not p.name.startswith(("veil.sqlite3", "secret"))
        )


# How plaintext media files begin: MP4/MOV (after the box size), Matroska/WebM, PNG, JPEG, raw H.264, RIFF.
MEDIA_MAGIC = ((4, b"ftyp"), (0, b"\x1aE\xdf\xa3"), (0, b"\x89PNG"), (0, b"\xff\xd8\xff"), (0, b"\0\0\0\1"))


def plaintext_leftovers(root: Path, originals: tuple[bytes, ...] = ()) -> list[Path]:
    """Return the files under ``root`` that begin like media or hold a 256-byte run of an original."""
    runs = [o[i : i + 256] for o in originals for i in range(0, max(len(o) - 256, 1), 512)]
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        magic = any(data[at : at + len(sig)] == sig for at, sig in MEDIA_MAGIC)
        if magic or data.startswith(b"RIFF") or any(run in data for run in runs):
            found.append(path)
    return found


@pytest.fixture
def service(service_settings: ServiceSettings) -> Iterator[Service]:
    """Start the app (lifespan included) on a fresh data folder."""
    with TestClient(create_app(service_settings)) as client:
        yield Service(client, client.app.state.veil)  # type: ignore[attr-defined]


@pytest.fixture
def png_bytes() -> Callable[..., bytes]:
    """Factory: a synthetic PNG of the given size."""

    def make(width: int = 96, height: int = 64) -> bytes:
        rng = np.random.default_rng(7)
        buffer = io.BytesIO()
        PILImage.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
        return buffer.getvalue()

    return make
