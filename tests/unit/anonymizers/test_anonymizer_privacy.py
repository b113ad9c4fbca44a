"""Privacy properties every anonymizer keeps, for every region shape (DESIGN.md, Tests)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from anonymizer_cases import REGION_NAMES, region_cases, textured_image

from veil.anonymizers.abstraction import Abstraction, AbstractionStyle
from veil.anonymizers.adaptive_blur import AdaptiveBlur
from veil.anonymizers.base import Anonymizer
from veil.anonymizers.cartoon import Cartoon
from veil.anonymizers.expression import ExpressionKeeping
from veil.anonymizers.fake import RecordingAnonymizer
from veil.anonymizers.false_colour import FalseColour
from veil.anonymizers.per_class import PerClassAnonymizer
from veil.anonymizers.pixelate import Pixelate
from veil.anonymizers.solid_mask import SolidMask
from veil.anonymizers.token import Token
from veil.anonymizers.warp import Warp
from veil.detections import Detections
from veil.errors import UnsupportedFrameError
from veil.regions import union_mask
from veil.types import Image, ObjectClass


@pytest.fixture
def textured() -> Image:
    return textured_image()


@pytest.fixture(params=REGION_NAMES)
def regions(request: pytest.FixtureRequest) -> Detections:
    return region_cases()[request.param]


FACTORIES: dict[str, Callable[[], Anonymizer]] = {
    "blur": AdaptiveBlur,
    "pixelate": Pixelate,
    "solid": SolidMask,
    "per-class": lambda: PerClassAnonymizer(
        {ObjectClass.FACE: Pixelate(), ObjectClass.TEXT: SolidMask((200, 10, 10))}, default=AdaptiveBlur()
    ),
    "recording": RecordingAnonymizer,
    "cartoon": Cartoon,
    "false-colour": FalseColour,
    "warp": lambda: Warp(secret=b"s" * 32),
    "abstraction": Abstraction,
    "abstraction-silhouette": lambda: Abstraction(AbstractionStyle.SILHOUETTE),
    "abstraction-outline": lambda: Abstraction(AbstractionStyle.OUTLINE),
    "token": lambda: Token(key=b"k" * 32),
    "expression": ExpressionKeeping,
}


@pytest.fixture(params=list(FACTORIES))
def anonymizer(request: pytest.FixtureRequest) -> Anonymizer:
    return FACTORIES[request.param]()


def test_is_an_anonymizer(anonymizer: Anonymizer) -> None:
    assert isinstance(anonymizer, Anonymizer)


def test_input_is_unchanged(anonymizer: Anonymizer, textured: Image, regions: Detections) -> None:
    before = textured.copy()
    result = anonymizer.apply(textured, regions)
    np.testing.assert_array_equal(textured, before)
    assert result is not textured and not np.shares_memory(result, textured)


def test_every_region_pixel_changes_and_nothing_else(
    anonymizer: Anonymizer, textured: Image, regions: Detections
) -> None:
    result = anonymizer.apply(textured, regions)
    inside = union_mask(regions, textured.shape[:2])
    changed = (result != textured).any(axis=2)
    assert inside.any()
    assert changed[inside].all(), f"{int((~changed[inside]).sum())} region pixels kept their value"
    assert not changed[~inside].any(), "pixels outside every region changed"
    assert result.dtype == np.uint8 and result.shape == textured.shape and result.flags.c_contiguous


def test_out_is_written_in_place(anonymizer: Anonymizer, textured: Image, regions: Detections) -> None:
    expected = anonymizer.apply(textured, regions)
    out = np.zeros_like(textured)
    assert anonymizer.apply(textured, regions, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_image_itself_may_be_out(anonymizer: Anonymizer, textured: Image, regions: Detections) -> None:
    expected = anonymizer.apply(textured, regions)
    frame = textured.copy()
    assert anonymizer.apply(frame, regions, out=frame) is frame
    np.testing.assert_array_equal(frame, expected)


def test_no_regions_returns_an_equal_copy(anonymizer: Anonymizer, textured: Image) -> None:
    result = anonymizer.apply(textured, Detections.empty())
    np.testing.assert_array_equal(result, textured)
    assert result is not textured


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)],
    ids=["grey", "rgba", "float"],
)
def test_non_rgb_images_are_refused(anonymizer: Anonymizer, bad: Image) -> None:
    with pytest.raises(UnsupportedFrameError, match="H×W×3 uint8"):
        anonymizer.apply(bad, Detections.empty())


def test_zero_size_images_are_refused(anonymizer: Anonymizer) -> None:
    with pytest.raises(UnsupportedFrameError, match="zero size"):
        anonymizer.apply(np.zeros((0, 5, 3), np.uint8), Detections.empty())


def test_out_of_another_shape_is_refused(anonymizer: Anonymizer, textured: Image) -> None:
    with pytest.raises(ValueError, match="out has shape"):
        anonymizer.apply(textured, Detections.empty(), out=np.zeros((5, 5, 3), np.uint8))
