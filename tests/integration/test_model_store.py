"""The shared model folder holds every catalog model, byte-exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.models.catalog import CATALOG
from veil.models.store import DERIVED_KEY, resolve_model, verify_models

pytestmark = pytest.mark.integration


def test_shared_models_verify(models_dir: Path) -> None:
    # Rewritten models the session's runs left in the cache are reported after the catalog's.
    statuses = [s for s in verify_models(models_dir) if s.key != DERIVED_KEY]
    assert [s.key for s in statuses] == list(CATALOG)
    for status in statuses:
        assert status.ok, status.message
        assert status.path == models_dir / CATALOG[status.key].filename


@pytest.mark.parametrize("key", list(CATALOG))
def test_resolve_finds_shared_models_without_download(models_dir: Path, key: str) -> None:
    path = resolve_model(key, models_dir, download=False)
    assert path == models_dir / CATALOG[key].filename
    assert path.stat().st_size == CATALOG[key].size_bytes
