"""What each method of the menu promises beyond hiding: stable per track, keyed, its own look."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from anonymizer_cases import textured_image

from veil.anonymizers.abstraction import Abstraction, AbstractionStyle
from veil.anonymizers.cartoon import Cartoon
from veil.anonymizers.false_colour import FalseColour
from veil.anonymizers.method_key import KEY_ENV, read_method_key
from veil.anonymizers.token import Token, token_colours
from veil.anonymizers.warp import Warp
from veil.detections import Detections
from veil.errors import ConfigError
from veil.pipeline.choices import parse_methods
from veil.pipeline.config import Method
from veil.types import Image, ObjectClass

KEY = b"0123456789abcdef-veil"
PERSON = ObjectClass.PERSON


def _one(box: tuple[float, float, float, float], track: int = 7, cls: ObjectClass = PERSON) -> Detections:
    return Detections.create([box], [0.9], cls, track_ids=[track])


def _region(image: Image, box: tuple[int, int, int, int]) -> Image:
    x1, y1, x2, y2 = box
    return image[y1:y2, x1:x2]


def _moving_object(offset: int) -> tuple[Image, tuple[int, int, int, int]]:
    """Return a frame with the same textured object pasted at (20 + offset, 30) over other noise."""
    frame = textured_image(seed=offset + 100)
    obj = textured_image(seed=1, hw=(40, 30))
    box = (20 + offset, 30, 50 + offset, 70)
    frame[30:70, 20 + offset : 50 + offset] = obj
    return frame, box


@pytest.mark.parametrize("make", [lambda: Token(key=KEY), lambda: Warp(secret=KEY)], ids=["token", "warp"])
def test_a_track_keeps_its_look_as_it_moves(make: type) -> None:
    anonymizer = make()
    first, box_a = _moving_object(0)
    second, box_b = _moving_object(13)
    out_a = anonymizer.apply(first, _one(box_a))
    out_b = anonymizer.apply(second, _one(box_b))
    np.testing.assert_array_equal(_region(out_a, box_a), _region(out_b, box_b))


@pytest.mark.parametrize("make", [lambda: Token(key=KEY), lambda: Warp(secret=KEY)], ids=["token", "warp"])
def test_other_tracks_look_different(make: type) -> None:
    anonymizer = make()
    frame, box = _moving_object(0)
    seven = anonymizer.apply(frame, _one(box, track=7))
    eight = anonymizer.apply(frame, _one(box, track=8))
    assert (_region(seven, box) != _region(eight, box)).any(axis=2).mean() > 0.5


def test_one_key_gives_one_token_in_every_run_and_another_key_another() -> None:
    frame, box = _moving_object(0)
    once = Token(key=KEY).apply(frame, _one(box))
    again = Token(key=KEY).apply(frame, _one(box))
    other = Token(key=KEY + b"!").apply(frame, _one(box))
    np.testing.assert_array_equal(once, again)
    assert (_region(once, box) != _region(other, box)).any()


def test_without_a_key_each_run_draws_its_own_tokens() -> None:
    frame, box = _moving_object(0)
    runs = [_region(Token().apply(frame, _one(box)), box) for _ in range(3)]
    assert any((runs[0] != run).any() for run in runs[1:])


def test_a_token_is_two_complementary_colours() -> None:
    frame, box = _moving_object(0)
    region = _region(Token(key=KEY).apply(frame, _one(box)), box).reshape(-1, 3)
    colours = {tuple(int(v) for v in c) for c in np.unique(region, axis=0)}
    assert 2 <= len(colours) <= 4  # two stripe colours, plus the rare pixel nudged off its source value
    first, second = token_colours(bytes(range(32)))
    assert tuple(a + b for a, b in zip(first, second, strict=True)) == (255, 255, 255)


def test_a_short_token_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        Token(key=b"short")


def test_the_label_names_the_class_and_the_track() -> None:
    frame = np.full((120, 200, 3), 128, np.uint8)
    box = (10, 10, 190, 110)
    label = Abstraction(AbstractionStyle.LABEL).apply(frame, _one(box, track=7))
    untracked = Abstraction(AbstractionStyle.LABEL).apply(frame, Detections.create([box], [0.9], PERSON))
    silhouette = Abstraction(AbstractionStyle.SILHOUETTE).apply(frame, _one(box, track=7))
    assert (label != silhouette).any(), "no label drawn"
    assert (label != untracked).any(), "the track id is not written"


def test_an_outline_is_ink_on_paper() -> None:
    frame = textured_image()
    box = (20, 20, 100, 100)
    region = _region(Abstraction(AbstractionStyle.OUTLINE).apply(frame, _one(box)), box)
    colours, counts = np.unique(region.reshape(-1, 3), axis=0, return_counts=True)
    assert colours[np.argmax(counts)].tolist() == [235, 235, 230]


def test_false_colour_keeps_only_its_levels() -> None:
    frame = textured_image()
    box = (10, 10, 150, 110)
    method = FalseColour(levels=4)
    region = _region(method.apply(frame, _one(box)), box).reshape(-1, 3)
    distinct = {tuple(int(v) for v in c) for c in np.unique(region, axis=0)}
    assert len(distinct) <= 2 * method.levels  # each level, or it nudged off its source by one


def test_cartoon_is_flat() -> None:
    frame = textured_image()
    box = (10, 10, 150, 110)
    region = _region(Cartoon().apply(frame, _one(box)), box).reshape(-1, 3)
    assert len(np.unique(region, axis=0)) < 0.02 * len(region)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Cartoon(cell_ratio=0.0), "cell_ratio"),
        (lambda: Cartoon(levels=1), "levels"),
        (lambda: FalseColour(min_cell_px=1), "min_cell_px"),
        (lambda: Warp(amplitude_ratio=5.0), "amplitude_ratio"),
        (lambda: Warp(grid_cells=1), "grid_cells"),
        (lambda: Abstraction("label"), "style"),  # type: ignore[arg-type]
    ],
)
def test_settings_out_of_range_are_refused(make: type, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make()


def test_every_menu_name_parses() -> None:
    text = "face=cartoon,plate=false-colour,person=warp,vehicle=abstraction,text=token"
    assert parse_methods(text) == {
        ObjectClass.FACE: Method.CARTOON,
        ObjectClass.LICENSE_PLATE: Method.FALSE_COLOUR,
        ObjectClass.PERSON: Method.WARP,
        ObjectClass.VEHICLE: Method.ABSTRACTION,
        ObjectClass.TEXT: Method.TOKEN,
    }


def test_an_unknown_method_lists_the_menu() -> None:
    with pytest.raises(ConfigError, match="cartoon, false-colour, warp, abstraction, token"):
        parse_methods("face=swirl")


def test_the_key_comes_from_its_file_then_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "veil.key"
    path.write_bytes(KEY + b"\n")
    assert read_method_key(path, {KEY_ENV: "another key of enough bytes"}) == KEY
    assert read_method_key(None, {KEY_ENV: "another key of enough bytes"}) == b"another key of enough bytes"
    assert read_method_key(None, {}) is None


def test_a_short_or_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"tiny")
    with pytest.raises(ConfigError, match="at least 16"):
        read_method_key(short, {})
    with pytest.raises(ConfigError, match="cannot read"):
        read_method_key(tmp_path / "absent.key", {})
