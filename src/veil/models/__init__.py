"""Pinned model files: the catalog and a store that finds, verifies and downloads them."""

from __future__ import annotations

from veil.models.catalog import CATALOG, ModelSpec
from veil.models.store import ModelStatus, fetch_models, resolve_model, verify_models

__all__ = ["CATALOG", "ModelSpec", "ModelStatus", "fetch_models", "resolve_model", "verify_models"]
