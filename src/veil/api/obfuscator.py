"""The learned obfuscator beyond training: check a model file before a long-running front relies on it."""

from __future__ import annotations

from pathlib import Path

from veil.detection.settings import DetectionConfig

__all__ = ["check_obfuscator"]


def check_obfuscator(path: Path, detection: DetectionConfig | None = None) -> None:
    """Load ``path`` as ``--method obfuscator`` does (contract checked, one probe frame run), then drop it.

    A server started with a model calls this first, so a wrong file stops it at start instead of
    failing every job later.

    Raises:
        ModelError: the file is missing, not ONNX, or not an obfuscator (the message says what was expected).
    """
    from veil.obfuscation.apply import ObfuscatorModel

    ObfuscatorModel(Path(path), detection)
