"""Shared fixtures: where the real models and media live (../shared beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_dir():
        pytest.fail(
            f"{env} points at {path}, which does not exist: integration tests need ../shared beside the repo"
        )
    return path


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Folder with the real model files (VEIL_MODELS_DIR, default ../shared/models)."""
    return _shared_dir("VEIL_MODELS_DIR", REPO.parent / "shared" / "models")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder with the real test media (VEIL_DATA_DIR, default ../shared/data)."""
    return _shared_dir("VEIL_DATA_DIR", REPO.parent / "shared" / "data")
