"""The registry builds what a configuration asks for, lazily, and hides whole frames safely."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from veil.anonymizers.abstraction import Abstraction
from veil.anonymizers.adaptive_blur import AdaptiveBlur
from veil.anonymizers.base import Anonymizer
from veil.anonymizers.cartoon import Cartoon
from veil.anonymizers.false_colour import FalseColour
from veil.anonymizers.per_class import PerClassAnonymizer
from veil.anonymizers.pixelate import Pixelate
from veil.anonymizers.registry import METHODS, build_anonymizer, create_anonymizer, hide_whole_frame
from veil.anonymizers.solid_mask import SolidMask
from veil.anonymizers.token import Token
from veil.anonymizers.warp import Warp
from veil.pipeline.config import Method, PipelineConfig
from veil.types import Image, ObjectClass

FACE, PLATE = ObjectClass.FACE, ObjectClass.LICENSE_PLATE


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        (Method.BLUR, AdaptiveBlur),
        (Method.PIXELATE, Pixelate),
        (Method.MASK, SolidMask),
        (Method.CARTOON, Cartoon),
        (Method.FALSE_COLOUR, FalseColour),
        (Method.WARP, Warp),
        (Method.ABSTRACTION, Abstraction),
        (Method.TOKEN, Token),
    ],
)
def test_each_method_builds_its_class(method: Method, kind: type) -> None:
    anonymizer = create_anonymizer(method)
    assert isinstance(anonymizer, kind) and isinstance(anonymizer, Anonymizer)


def test_every_method_is_in_the_table() -> None:
    assert set(METHODS) == set(Method)


@pytest.mark.parametrize("default", list(Method))
def test_one_method_for_all_targets_is_not_wrapped(default: Method) -> None:
    config = PipelineConfig(default_method=default, methods={FACE: default})
    assert type(build_anonymizer(config)) is type(create_anonymizer(default))


def test_methods_per_class_dispatch() -> None:
    config = PipelineConfig(
        targets=frozenset({FACE, PLATE, ObjectClass.TEXT}),
        methods={PLATE: Method.MASK, ObjectClass.TEXT: Method.PIXELATE},
    )
    anonymizer = build_anonymizer(config)
    assert isinstance(anonymizer, PerClassAnonymizer)
    assert isinstance(anonymizer.default, AdaptiveBlur)
    assert {cls: type(a) for cls, a in anonymizer.methods.items()} == {
        PLATE: SolidMask,
        ObjectClass.TEXT: Pixelate,
    }


def test_implementations_are_imported_only_when_built() -> None:
    code = (
        "import sys, veil.anonymizers.registry as r\n"
        "assert 'veil.anonymizers.pixelate' not in sys.modules\n"
        "r.create_anonymizer(r.Method.PIXELATE)\n"
        "assert 'veil.anonymizers.pixelate' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _face_like(hw: tuple[int, int]) -> Image:
    """Return a frame with fine detail everywhere: noise plus a sharp-edged high-contrast square."""
    image = np.random.default_rng(5).integers(0, 256, (*hw, 3), dtype=np.uint8)
    image[hw[0] // 3 : hw[0] // 3 + 60, hw[1] // 3 : hw[1] // 3 + 60] = 255
    return image


@pytest.mark.parametrize("hw", [(480, 640), (720, 1280), (100, 37)])
def test_hidden_frame_keeps_no_detail(hw: tuple[int, int]) -> None:
    image = _face_like(hw)
    before = image.copy()
    hidden = hide_whole_frame(image)
    np.testing.assert_array_equal(image, before)
    assert hidden.shape == image.shape and hidden.dtype == np.uint8 and hidden.flags.c_contiguous
    # Fine detail (the Laplacian's energy) falls by more than 99 %, and a 60 px square leaves no sharp edge.
    detail = np.abs(cv2.Laplacian(hidden, cv2.CV_32F)).mean()
    assert detail < 0.01 * np.abs(cv2.Laplacian(image, cv2.CV_32F)).mean()
    assert np.abs(np.diff(hidden.astype(np.int16), axis=1)).max() <= 16


@pytest.mark.parametrize("hw", [(1, 1), (3, 200), (15, 15)])
def test_tiny_frames_can_be_hidden(hw: tuple[int, int]) -> None:
    image = _face_like(hw) if min(hw) > 3 else np.zeros((*hw, 3), np.uint8)
    assert hide_whole_frame(image).shape == image.shape
