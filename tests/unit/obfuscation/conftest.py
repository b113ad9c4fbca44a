"""Fixtures for the obfuscator's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from obfuscation_fixtures import write_tiny_detector


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Tests share two cores with everything else; one thread also makes runs repeatable."""
    torch.set_num_threads(1)


@pytest.fixture
def tiny_detector(tmp_path: Path) -> Path:
    """A YOLOX-shaped stand-in detector in tmp_path."""
    return write_tiny_detector(tmp_path / "tiny_detector.onnx")
