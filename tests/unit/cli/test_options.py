from __future__ import annotations

import click
import pytest

from veil.cli.options import parse_targets
from veil.types import ObjectClass


def test_targets() -> None:
    assert parse_targets("face, plate") == {ObjectClass.FACE, ObjectClass.LICENSE_PLATE}
    with pytest.raises(click.BadParameter, match="valid classes"):
        parse_targets("face,dog")
