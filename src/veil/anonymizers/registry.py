"""Build the anonymizer a configuration asks for; implementations are imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

import cv2
import numpy as np

from veil.anonymizers.base import Anonymizer
from veil.anonymizers.method import Method, MethodChoices
from veil.anonymizers.per_class import PerClassAnonymizer
from veil.checks import require_rgb
from veil.errors import UnknownComponentError
from veil.types import Image, ObjectClass

__all__ = ["KEYED_METHODS", "METHODS", "build_anonymizer", "create_anonymizer", "hide_whole_frame"]

METHODS: Mapping[Method, str] = MappingProxyType(
    {
        Method.BLUR: "veil.anonymizers.adaptive_blur:AdaptiveBlur",
        Method.PIXELATE: "veil.anonymizers.pixelate:Pixelate",
        Method.MASK: "veil.anonymizers.solid_mask:SolidMask",
        Method.CARTOON: "veil.anonymizers.cartoon:Cartoon",
        Method.FALSE_COLOUR: "veil.anonymizers.false_colour:FalseColour",
        Method.WARP: "veil.anonymizers.warp:Warp",
        Method.ABSTRACTION: "veil.anonymizers.abstraction:Abstraction",
        Method.TOKEN: "veil.anonymizers.token:Token",
        Method.EXPRESSION: "veil.anonymizers.expression:ExpressionKeeping",
    }
)
# Methods whose factory takes the run's secret as ``key=`` (None: the method draws its own).
KEYED_METHODS = frozenset({Method.TOKEN})

# A hidden frame keeps at most this many cells across its long side, and cells of at least this many
# pixels: a face or plate spans one or two cells at most, so nothing identifiable survives.
_HIDDEN_FRAME_CELLS = 32
_HIDDEN_FRAME_MIN_CELL_PX = 16


def create_anonymizer(method: Method, key: bytes | None = None) -> Anonymizer:
    """Return a new anonymizer of ``method`` with its default settings; ``key`` goes to keyed methods."""
    try:
        target = METHODS[method]
    except KeyError:
        valid = ", ".join(m.value for m in METHODS)
        raise UnknownComponentError(f"no anonymizer for method {method!r}; valid methods: {valid}") from None
    module_name, _, class_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), class_name)
    anonymizer: Anonymizer = factory(key=key) if method in KEYED_METHODS else factory()
    return anonymizer


def build_anonymizer(config: MethodChoices) -> Anonymizer:
    """Return the anonymizer that hides each target class of ``config`` with its method."""
    per_class = {cls: config.method_for(cls) for cls in config.targets}
    used = {*per_class.values(), config.default_method}
    instances = {
        method: create_anonymizer(method, config.method_key) for method in sorted(used, key=lambda m: m.value)
    }
    if len(used) == 1:
        return instances[config.default_method]
    methods: dict[ObjectClass, Anonymizer] = {
        cls: instances[method] for cls, method in per_class.items() if method is not config.default_method
    }
    return PerClassAnonymizer(methods, default=instances[config.default_method])


def hide_whole_frame(image: Image) -> Image:
    """Return a copy of ``image`` reduced to a coarse colour wash: the fail-closed ``hide-frame`` output."""
    height, width = require_rgb(image)
    cell = max(_HIDDEN_FRAME_MIN_CELL_PX, -(-max(height, width) // _HIDDEN_FRAME_CELLS))
    small = cv2.resize(image, (max(1, width // cell), max(1, height // cell)), interpolation=cv2.INTER_AREA)
    # Bilinear enlargement of so few cells is itself a wide blur: no block edges, no detail.
    return np.ascontiguousarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), np.uint8)
