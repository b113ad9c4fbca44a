from __future__ import annotations

import click
import pytest

from veil.cli.options import parse_methods, parse_targets, parse_thresholds
from veil.pipeline.config import Method
from veil.types import ObjectClass


def test_targets() -> None:
    assert parse_targets("face, plate") == {ObjectClass.FACE, ObjectClass.LICENSE_PLATE}
    with pytest.raises(click.BadParameter, match="valid classes"):
        parse_targets("face,dog")


def test_methods_per_class_and_bare() -> None:
    assert parse_methods("face=blur,plate=pixelate") == {
        ObjectClass.FACE: Method.BLUR,
        ObjectClass.LICENSE_PLATE: Method.PIXELATE,
    }
    assert set(parse_methods("mask").values()) == {Method.MASK}
    assert len(parse_methods("mask")) == len(ObjectClass)
    with pytest.raises(click.BadParameter, match="valid: blur"):
        parse_methods("face=smudge")


def test_thresholds_range_checked() -> None:
    assert parse_thresholds("face=0.3")[ObjectClass.FACE] == pytest.approx(0.3)
    with pytest.raises(click.BadParameter, match="not in"):
        parse_thresholds("face=3")
