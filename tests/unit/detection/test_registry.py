from __future__ import annotations

import subprocess
import sys

import pytest

from veil.detection.registry import BACKENDS, backend_class, build_detector
from veil.errors import ConfigError, UnknownComponentError
from veil.pipeline.config import PipelineConfig


def test_unknown_backend_lists_the_valid_names() -> None:
    with pytest.raises(UnknownComponentError) as info:
        backend_class("retinaface")
    message = str(info.value)
    assert "retinaface" in message
    for name in BACKENDS:
        assert name in message


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_backend_resolves_to_a_class(name: str) -> None:
    cls = backend_class(name)
    assert isinstance(cls, type)
    assert BACKENDS[name].target.endswith(":" + cls.__name__)


def test_importing_the_registry_loads_no_backend_or_runtime() -> None:
    code = (
        "import sys, veil.detection.registry; "
        "print(sorted(m for m in ('onnxruntime', 'cv2', 'veil.detection.yolox', 'veil.detection.yunet') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_empty_targets_are_refused() -> None:
    with pytest.raises(ConfigError, match="no target classes"):
        build_detector(frozenset(), PipelineConfig())
