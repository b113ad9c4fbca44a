"""Veil: find what identifies people in images and video, and anonymize it.

The public verbs are imported lazily so ``import veil.types`` or ``veil --help`` stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veil.api import Pipeline, anonymize_image, anonymize_path, anonymize_video, open_pipeline
    from veil.detections import Detections
    from veil.errors import VeilError
    from veil.pipeline.config import PipelineConfig, RunOptions
    from veil.types import ObjectClass

__all__ = [
    "Detections",
    "ObjectClass",
    "Pipeline",
    "PipelineConfig",
    "RunOptions",
    "VeilError",
    "anonymize_image",
    "anonymize_path",
    "anonymize_video",
    "open_pipeline",
]

__version__ = "0.1.0"

_HOMES = {
    "Detections": "veil.detections",
    "ObjectClass": "veil.types",
    "Pipeline": "veil.api",
    "PipelineConfig": "veil.pipeline.config",
    "RunOptions": "veil.pipeline.config",
    "VeilError": "veil.errors",
    "anonymize_image": "veil.api",
    "anonymize_path": "veil.api",
    "anonymize_video": "veil.api",
    "open_pipeline": "veil.api",
}


def __getattr__(name: str) -> Any:
    try:
        module = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'veil' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
