"""Keep dependency arrows pointing inward, as docs/architecture.md draws them, and the public surface honest.

Every ``veil`` module belongs to one layer; it may import its own package and any lower layer, never a
higher one nor another package of its own layer. Imports are read from the source, the three ways a
module can reach another: ``import veil.x`` / ``from veil.x import y``, ``from veil import x`` (a
subpackage, or a name the package root loads lazily from its home), and import strings
(``"veil.x:Name"`` registry entries, ``importlib.import_module("veil.x")``).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "veil"
CORE = {"types", "detections", "geometry", "errors", "regions", "checks"}

# Lowest first. The stages know nothing of each other or of what composes them; pipeline/ composes
# them; removal, live, evaluation and batch are pipelines of their own built on those; the API is the one
# door the fronts use.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("core", frozenset(CORE)),
    ("models", frozenset({"models"})),
    ("stages", frozenset({"detection", "anonymizers", "propagation", "video"})),
    ("pipeline", frozenset({"pipeline"})),
    ("pipelines", frozenset({"removal", "live", "evaluation", "scramble", "obfuscation", "batch"})),
    ("api", frozenset({"api"})),
    ("package root", frozenset({"__init__"})),  # ``import veil``: lazy names from the API and the core
    ("fronts", frozenset({"cli", "service", "edge"})),
)
_RANK = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}

# The CLI is also the launcher of the other fronts: it may start the service and the edge client
# through their packages' public names (never their modules).
_FRONT_LAUNCHES = {"cli": {"veil.service", "veil.edge"}}

_IMPORT_STRING = re.compile(r"veil(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?")
_SUBPACKAGES = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or p.is_dir()}


def _lazy_homes() -> dict[str, str]:
    """Return what ``from veil import NAME`` really loads: the root's lazy name → home module table."""
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_HOMES" for t in node.targets):
            table = ast.literal_eval(node.value)
            assert isinstance(table, dict)
            return {str(k): str(v) for k, v in table.items()}
    raise AssertionError("veil/__init__.py has no _HOMES table")


_HOMES = _lazy_homes()


def _from_root(name: str) -> str:
    if name in _SUBPACKAGES:
        return f"veil.{name}"
    # A lazy name imports its home; anything else (``__version__``) is the root's own constant.
    return _HOMES.get(name, "veil")


def _is_import_string(text: str) -> bool:
    # A dotted name into one of veil's parts; "veil.sqlite3" is a file name, not a module.
    return bool(_IMPORT_STRING.fullmatch(text)) and text.split(".")[1].partition(":")[0] in _SUBPACKAGES


def imports_of(source: str) -> set[str]:
    """Return every ``veil`` module ``source`` imports, by statement, from the package root or by string."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "veil":
                found.update(_from_root(alias.name) for alias in node.names)
            elif node.module.startswith("veil."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name == "veil" or a.name.startswith("veil."))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_import_string(node.value):
            found.add(node.value.partition(":")[0])
    return found


def _part(module: str) -> str:
    """Return the top-level part of ``veil`` a module belongs to (``api``, ``detection``, ``__init__``…)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations(module: str, source: str) -> set[str]:
    """Return the imports of ``module`` (its text ``source``) that point up or across the layers."""
    own = _part(module)
    bad: set[str] = set()
    for target in imports_of(source):
        other = "types" if target == "veil" else _part(target)  # the root's own constants are core
        if other == own:
            continue
        if (
            other not in _RANK
            or _RANK[other] > _RANK[own]
            or (_RANK[other] == _RANK[own] != 0 and target not in _FRONT_LAUNCHES.get(own, set()))
        ):
            bad.add(target)
    return bad


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


_ALL_MODULES = sorted(SRC.rglob("*.py"))


def test_every_part_of_veil_has_a_layer() -> None:
    parts = {_part(_module_name(p)) for p in _ALL_MODULES}
    assert parts <= set(_RANK), f"place these in LAYERS: {sorted(parts - set(_RANK))}"


@pytest.mark.parametrize("path", _ALL_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down_the_layers(path: Path) -> None:
    module = _module_name(path)
    bad = violations(module, path.read_text(encoding="utf-8"))
    assert not bad, f"{module} imports up or across the layers: {sorted(bad)}"


# The fronts: thin layers over the API, which re-exports the configuration types they build.
_FRONT_ALLOWED = {"veil", "veil.api"} | {f"veil.{m}" for m in CORE}


_FRONTS = ("cli", "service", "edge")


def front_breaks(module: str, source: str) -> set[str]:
    """Return what front ``module`` imports besides the API, the core and its own package."""
    part = _part(module)
    if part not in _FRONTS:
        return set()
    own = f"veil.{part}"
    allowed = _FRONT_ALLOWED | _FRONT_LAUNCHES.get(part, set())
    return {m for m in imports_of(source) if m not in allowed and m != own and not m.startswith(own + ".")}


def breaks(module: str, source: str) -> set[str]:
    """Return every import of ``module`` that the layering or the front-door rule forbids."""
    return violations(module, source) | front_breaks(module, source)


@pytest.mark.parametrize(
    "path",
    [p for front in _FRONTS for p in sorted((SRC / front).rglob("*.py"))],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_fronts_import_only_the_api_and_core(path: Path) -> None:
    module = _module_name(path)
    bad = front_breaks(module, path.read_text(encoding="utf-8"))
    assert not bad, f"{module} reaches past the API: {sorted(bad)}"


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("veil.detection.planted", "from veil.pipeline.config import PipelineConfig\n"),
        ("veil.detection.planted", "import veil.pipeline.runner\n"),
        ("veil.detection.planted", "from veil import pipeline\n"),
        ("veil.video.planted", "from veil import PipelineConfig\n"),
        ("veil.anonymizers.planted", 'TABLE = {"x": "veil.pipeline.runner:run_file"}\n'),
        ("veil.propagation.planted", 'import importlib\nimportlib.import_module("veil.live")\n'),
        ("veil.detection.planted", "from veil.video.reader import VideoReader\n"),
        ("veil.removal.planted", "from veil.live import run_stream\n"),
        ("veil.pipeline.planted", "from veil.api import Pipeline\n"),
        ("veil.types", "from veil.models.store import resolve_model\n"),
        ("veil.cli.planted", "from veil.removal import remove_dynamic_object\n"),
    ],
)
def test_a_planted_upward_or_sideways_import_is_caught(module: str, planted: str) -> None:
    assert breaks(module, planted)


@pytest.mark.parametrize(
    ("module", "fine"),
    [
        ("veil.pipeline.planted", "from veil.detection.settings import DetectionConfig\n"),
        ("veil.detection.planted", "from veil import errors\nfrom veil.checks import check_range\n"),
        ("veil.models.planted", "from veil import __version__\n"),
        ("veil.detection.registry", '"veil.detection.yunet:YuNetDetector"\n'),
        ("veil.cli.planted", "from veil.service import serve\n"),
    ],
)
def test_downward_imports_pass(module: str, fine: str) -> None:
    assert not breaks(module, fine)


def test_the_cli_reaches_other_fronts_only_through_their_packages() -> None:
    assert breaks("veil.cli.planted", "from veil.service.app import create_app\n")


def test_veil_all_names_exist() -> None:
    veil = importlib.import_module("veil")
    for name in veil.__all__:
        assert getattr(veil, name) is not None


def test_api_all_names_exist() -> None:
    api = importlib.import_module("veil.api")
    for name in api.__all__:
        assert getattr(api, name) is not None
