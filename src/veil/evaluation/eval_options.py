"""Settings of ``veil eval``: which anonymization methods run over an annotated data set."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from veil.errors import ConfigError
from veil.pipeline.config import DEFAULT_TARGETS
from veil.types import ObjectClass

__all__ = ["COMPARED_METHODS", "EvalMethod", "EvalOptions"]


class EvalMethod(enum.Enum):
    """A way to produce the anonymized images; the value is its name in options and reports."""

    ORIGINAL = "original"  # the unmodified images: the reference row of a comparison
    BLUR = "blur"  # Veil, adaptive blur
    PIXELATE = "pixelate"  # Veil, pixelation
    MASK = "mask"  # Veil, solid mask
    CARTOON = "cartoon"  # Veil, the rest of the method menu (veil anonymize --method)
    FALSE_COLOUR = "false-colour"
    WARP = "warp"
    ABSTRACTION = "abstraction"
    TOKEN = "token"
    EXPRESSION = "expression"
    GLOBAL_BLUR = "global-blur"  # whole frame, 9×9 Gaussian kernel
    GLOBAL_NOISE = "global-noise"  # whole frame, Gaussian noise of 7.5 % of the range
    GLOBAL_QUANTIZE = "global-quantize"  # whole frame, 8 levels per channel
    GLOBAL_PIXELATE = "global-pixelate"  # whole frame, pixelated to a third

    @property
    def is_veil(self) -> bool:
        """Return whether this method is Veil's detect-then-hide pipeline."""
        return not (self is EvalMethod.ORIGINAL or self.value.startswith("global-"))

    @classmethod
    def parse(cls, name: str) -> EvalMethod:
        """Return the method called ``name``; raise ConfigError listing the valid names."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ConfigError(f"unknown method {name!r}; valid methods: {valid}") from None


COMPARED_METHODS: tuple[EvalMethod, ...] = tuple(EvalMethod)
"""What ``veil eval --compare`` runs: the originals, every method of Veil's menu, four global baselines."""


@dataclass(frozen=True)
class EvalOptions:
    """How ``veil eval`` runs.

    Args:
        methods: the methods to measure, in report order.
        targets: the classes Veil's methods hide.
        models_dir: folder with the model files (else ``VEIL_MODELS_DIR``, then the cache).
        limit: measure only the first this many images (0: all).
        threads: ONNX Runtime threads per model (0: automatic).
    """

    methods: tuple[EvalMethod, ...] = (EvalMethod.BLUR,)
    targets: frozenset[ObjectClass] = DEFAULT_TARGETS
    models_dir: Path | None = None
    limit: int = 0
    threads: int = 0

    def __post_init__(self) -> None:
        if not self.methods:
            raise ConfigError("methods is empty: name at least one method to evaluate")
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"methods {[m.value for m in self.methods]} name a method twice")
        if not self.targets:
            raise ConfigError("targets is empty: name at least one class for Veil to hide")
        if not 0 <= self.limit <= 10_000_000:
            raise ConfigError(f"limit={self.limit!r} is out of range [0, 10000000]")
        if not 0 <= self.threads <= 256:
            raise ConfigError(f"threads={self.threads!r} is out of range [0, 256]")
