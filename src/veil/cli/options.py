"""Parse the CLI's compact option values (``face=blur,plate=pixelate``) into configuration types."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from veil.pipeline.config import Method
from veil.types import ObjectClass

__all__ = ["parse_class_map", "parse_methods", "parse_targets", "parse_thresholds"]

V = TypeVar("V")


def parse_targets(text: str) -> frozenset[ObjectClass]:
    """Parse ``face,plate,...`` into classes."""
    try:
        return frozenset(ObjectClass.parse(name) for name in text.split(",") if name.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_class_map(text: str, parse_value: Callable[[str], V], what: str) -> dict[ObjectClass, V]:
    """Parse ``class=value,...``; a bare value applies to every class."""
    result: dict[ObjectClass, V] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            classes = [ObjectClass.parse(name)] if sep else list(ObjectClass)
            parsed = parse_value(value if sep else name)
        except ValueError as exc:
            raise click.BadParameter(f"{item!r}: {exc}") from None
        for cls in classes:
            result[cls] = parsed
    if not result:
        raise click.BadParameter(f"no {what} given")
    return result


def _method(name: str) -> Method:
    try:
        return Method(name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(m.value for m in Method)}") from None


def _score(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"threshold {value} is not in [0, 1]")
    return value


def parse_methods(text: str) -> dict[ObjectClass, Method]:
    """Parse ``face=blur,plate=pixelate`` (or one method for all)."""
    return parse_class_map(text, _method, "method")


def parse_thresholds(text: str) -> dict[ObjectClass, float]:
    """Parse ``face=0.3,plate=0.5`` (or one threshold for all)."""
    return parse_class_map(text, _score, "threshold")
