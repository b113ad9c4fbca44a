"""Keep dependency arrows pointing inward, as DESIGN.md draws them, and the public surface honest."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "veil"
CORE = {"types", "detections", "geometry", "errors", "regions"}


def _veil_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("veil"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("veil"))
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((SRC / folder).rglob("*.py")) if folder else [SRC / f"{m}.py" for m in sorted(CORE)]


@pytest.mark.parametrize("path", _modules(""), ids=lambda p: p.name)
def test_core_imports_only_core(path: Path) -> None:
    allowed = {f"veil.{m}" for m in CORE}
    assert _veil_imports(path) <= allowed, f"{path.name} imports outside the core"


# The front ends: thin layers over the API. The CLI may also start the service and the edge client
# through their packages' public names; none of them reaches into another's modules.
_FRONT_ENDS = {"cli": {"veil.service", "veil.edge"}, "service": set(), "edge": set()}


@pytest.mark.parametrize(
    ("folder", "path"),
    [(folder, path) for folder in _FRONT_ENDS for path in _modules(folder)],
    ids=lambda p: p if isinstance(p, str) else p.name,
)
def test_front_ends_import_only_api_config_and_core(folder: str, path: Path) -> None:
    allowed = {"veil", "veil.api", "veil.pipeline.config"} | {f"veil.{m}" for m in CORE} | _FRONT_ENDS[folder]
    own = f"veil.{folder}"
    bad = {m for m in _veil_imports(path) if m not in allowed and m != own and not m.startswith(own + ".")}
    assert not bad, f"{folder}/{path.name} reaches past the API: {bad}"


def test_veil_all_names_exist() -> None:
    veil = importlib.import_module("veil")
    for name in veil.__all__:
        assert getattr(veil, name) is not None
