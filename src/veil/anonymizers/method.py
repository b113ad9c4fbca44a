"""The anonymization methods a configuration can name."""

from __future__ import annotations

import enum
from typing import Protocol

from veil.types import ObjectClass

__all__ = ["Method", "MethodChoices"]


class Method(enum.Enum):
    """How a region is hidden; the value is the CLI and registry name."""

    BLUR = "blur"
    PIXELATE = "pixelate"
    MASK = "mask"
    CARTOON = "cartoon"
    FALSE_COLOUR = "false-colour"
    WARP = "warp"
    ABSTRACTION = "abstraction"
    TOKEN = "token"
    EXPRESSION = "expression"


class MethodChoices(Protocol):
    """What building the anonymizer reads from a run's configuration (``PipelineConfig`` has it)."""

    @property
    def targets(self) -> frozenset[ObjectClass]:
        """Classes to hide."""
        ...

    @property
    def default_method(self) -> Method:
        """Method for classes given none of their own."""
        ...

    @property
    def method_key(self) -> bytes | None:
        """Secret of the keyed methods (``token``); None: a random one per run."""
        ...

    def method_for(self, cls: ObjectClass) -> Method:
        """Return the method that hides ``cls``."""
        ...
