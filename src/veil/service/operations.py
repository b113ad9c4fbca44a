"""The operations a job can ask for: a table of name → ``"module:function"``, imported when first used."""

from __future__ import annotations

import enum
import importlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from veil.api import Pipeline, PipelineConfig, RemovalSettings, RunOptions
from veil.errors import ConfigError
from veil.service.options import REMOVAL_HELP, build_config

__all__ = [
    "Operation",
    "OperationContext",
    "OperationResult",
    "OperationUnavailableError",
    "Progress",
    "check_available",
    "check_options",
    "extra_options",
    "removal_settings",
    "run_operation",
]


class Operation(enum.Enum):
    """What a job does; the value is the API's ``operation`` field."""

    OBJECT_MASK = "object-mask"
    REMOVE_STATIC_OBJECT = "remove-static-object"
    REMOVE_DYNAMIC_OBJECT = "remove-dynamic-object"
    AUDIT = "audit"


class OperationUnavailableError(Exception):
    """The operation's implementation is not installed in this build (answered with 501)."""


class Progress(Protocol):
    """Receives frame progress (the runner's Progress protocol)."""

    def start(self, label: str, total: int | None) -> None:
        """Begin an input of ``total`` frames."""

    def advance(self, frames: int = 1) -> None:
        """Count ``frames`` more frames done."""


@dataclass(frozen=True)
class OperationContext:
    """What an operation gets: the plaintext input, a private output folder, the config, hooks."""

    src: Path
    out_dir: Path
    config: PipelineConfig
    progress: Progress
    pipeline: Callable[[PipelineConfig], Pipeline]
    options: Mapping[str, str]


@dataclass(frozen=True)
class OperationResult:
    """What an operation made: the result file, optionally a detections JSON, and a JSON-ready report."""

    result: Path
    detections: Path | None
    report: dict[str, Any]


def _object_mask(ctx: OperationContext) -> OperationResult:
    dst = ctx.out_dir / f"{ctx.src.stem}.anon{ctx.src.suffix}"
    # The obfuscator detects nothing: its jobs have no detections file.
    options = RunOptions(write_detections=ctx.config.obfuscator is None)
    report = ctx.pipeline(ctx.config).anonymize_file(ctx.src, dst, options, ctx.progress)
    detections = ctx.out_dir / f"{ctx.src.stem}.detections.json"
    return OperationResult(dst, detections if detections.is_file() else None, report.to_dict())


def _report_of(value: object) -> dict[str, Any]:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        return dict(result) if isinstance(result, Mapping) else {"result": result}
    return dict(value) if isinstance(value, Mapping) else {}


def _box(text: str, frame_size: tuple[int, int] | None) -> tuple[float, float, float, float]:
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(math.isfinite(v) for v in parts):
        raise ConfigError(f"box={text!r} must be four finite numbers x1,y1,x2,y2 in frame pixels")
    x1, y1, x2, y2 = parts
    if not (x1 < x2 and y1 < y2):
        raise ConfigError(f"box={text!r} is empty: x1 < x2 and y1 < y2 are needed")
    if frame_size is not None:
        width, height = frame_size
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            raise ConfigError(f"box={text!r} is not inside the {width}×{height} frame")
    return x1, y1, x2, y2


def _track_id(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if not 0 <= value < 2**31:
        raise ConfigError(f"track_id={text!r} must be a whole number in [0, 2**31)")
    return value


def removal_settings(
    options: Mapping[str, str], config: PipelineConfig, frame_size: tuple[int, int] | None = None
) -> RemovalSettings:
    """Return the removal settings for the request's ``box``, ``track_id`` and shared options.

    ``frame_size`` (width, height), when known, is what the box must lie inside.
    """
    kwargs: dict[str, Any] = {"output": config.output}
    if options.get("targets"):
        kwargs["targets"] = config.targets
    if options.get("box"):
        kwargs["box_xyxy"] = _box(options["box"], frame_size)
    if options.get("track_id"):
        kwargs["track_id"] = _track_id(options["track_id"])
    return RemovalSettings(**kwargs)


def _removal(name: str) -> Callable[[OperationContext], OperationResult]:
    def run(ctx: OperationContext) -> OperationResult:
        operation = Operation(name)
        remove = _load(_TABLE[operation])
        dst = ctx.out_dir / f"{ctx.src.stem}.{name}{ctx.src.suffix}"
        still = operation is Operation.REMOVE_STATIC_OBJECT
        value = remove(ctx.src, dst, removal_settings(ctx.options, ctx.config), still_object=still)
        return OperationResult(dst, None, _report_of(value))

    return run


def _audit(ctx: OperationContext) -> OperationResult:
    """Anonymize the upload as object-mask does, then attack the result: the report says what leaks."""
    audit = _load(_TABLE[Operation.AUDIT])
    masked = _object_mask(ctx)
    report = _report_of(audit(masked.result, ctx.src))
    dst = ctx.out_dir / f"{ctx.src.stem}.audit.json"
    dst.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return OperationResult(dst, masked.detections, {"anonymize": masked.report, "audit": report})


# The API verb each operation runs, by name: checked when a job is submitted, so a name this build
# cannot import makes its operation unavailable up front instead of failing the job later.
_TABLE: Mapping[Operation, str] = MappingProxyType(
    {
        Operation.OBJECT_MASK: "veil.api:Pipeline",
        Operation.REMOVE_STATIC_OBJECT: "veil.api:remove",
        Operation.REMOVE_DYNAMIC_OBJECT: "veil.api:remove",
        Operation.AUDIT: "veil.api:audit",
    }
)
_RUNNERS: Mapping[Operation, Callable[[OperationContext], OperationResult]] = MappingProxyType(
    {
        Operation.OBJECT_MASK: _object_mask,
        Operation.REMOVE_STATIC_OBJECT: _removal(Operation.REMOVE_STATIC_OBJECT.value),
        Operation.REMOVE_DYNAMIC_OBJECT: _removal(Operation.REMOVE_DYNAMIC_OBJECT.value),
        Operation.AUDIT: _audit,
    }
)


# The operations that anonymize with the job's method; removal fills objects in and takes none.
_WHOLE_FRAME_OPERATIONS = (Operation.OBJECT_MASK, Operation.AUDIT)


def _load(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise OperationUnavailableError(f"{target} is not available in this build ({exc})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise OperationUnavailableError(
            f"{target} is not available in this build ({module_name} has no {attr})"
        )
    return function  # type: ignore[no-any-return]


def extra_options(operation: Operation) -> Mapping[str, str]:
    """Return the form fields ``operation`` takes beyond the shared ones."""
    removal = operation in {Operation.REMOVE_STATIC_OBJECT, Operation.REMOVE_DYNAMIC_OBJECT}
    return REMOVAL_HELP if removal else MappingProxyType({})


def check_options(
    operation: Operation,
    options: Mapping[str, str],
    frame_size: tuple[int, int] | None = None,
    *,
    obfuscator: Path | None = None,
) -> None:
    """Raise ConfigError when ``options`` do not suit ``operation`` (checked at submission).

    ``frame_size`` (width, height) is the upload's, as probed: a box must lie inside it. ``obfuscator``
    is the server's model, for ``method=obfuscator``.
    """
    config = build_config(options, extra=extra_options(operation), obfuscator=obfuscator)
    if config.obfuscator is not None and operation not in _WHOLE_FRAME_OPERATIONS:
        raise ConfigError(
            f"method=obfuscator applies to {' and '.join(op.value for op in _WHOLE_FRAME_OPERATIONS)} jobs, "
            f"not to {operation.value}"
        )
    if operation is Operation.REMOVE_STATIC_OBJECT and not (options.get("box") or options.get("track_id")):
        raise ConfigError("remove-static-object needs box or track_id: name the object to remove")
    if extra_options(operation):
        removal_settings(options, config, frame_size)


def check_available(operation: Operation) -> None:
    """Raise OperationUnavailableError when ``operation``'s implementation cannot be imported."""
    _load(_TABLE[operation])


def run_operation(operation: Operation, ctx: OperationContext) -> OperationResult:
    """Run ``operation`` on ``ctx.src``, writing into ``ctx.out_dir``."""
    check_available(operation)
    return _RUNNERS[operation](ctx)
