"""Region pixels encrypted in place come back bit-exactly with the key, and any change is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import ConfigError, UnreadableMediaError
from veil.regions import union_mask
from veil.scramble.cipher import FrameSeal, RegionScrambler, derive_keys, unscramble_frame
from veil.scramble.region_list import RegionList, read_region_list, write_region_list
from veil.types import ObjectClass

SECRET = b"a secret of enough bytes"
SALT = bytes(16)
HW = (120, 160)


def textured_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (*HW, 3), dtype=np.uint8)


def region_cases() -> dict[str, Detections]:
    """Return one region of each shape, one across the frame's edge, and all of them overlapping."""
    ys, xs = np.mgrid[0 : HW[0], 0 : HW[1]]
    blob = ((ys - 80) / 25.0) ** 2 + ((xs - 40) / 15.0) ** 2 <= 1
    cases = {
        "box": Detections.create([[20, 30, 80, 60]], [0.9], ObjectClass.LICENSE_PLATE),
        "ellipse": Detections.create([[95, 20, 135, 70]], [0.9], ObjectClass.FACE),
        "polygon": Detections.create(
            [[60, 70, 130, 110]],
            [0.9],
            ObjectClass.TEXT,
            polygons=[np.array([[60, 80], [125, 70], [130, 100], [65, 110]], np.float32)],
        ),
        "mask": Detections.create([[25, 55, 65, 105]], [0.9], ObjectClass.PERSON, masks=blob[None]),
        "edge": Detections.create([[140, -10, 170, 20]], [0.9], ObjectClass.FACE),
    }
    cases["all-overlapping"] = Detections.concat(list(cases.values()), frame_shape=HW)
    return cases


REGION_NAMES = list(region_cases())


def _scrambled(name: str, index: int = 0) -> tuple[np.ndarray, np.ndarray, FrameSeal, bytes]:
    image = textured_image()
    pixel_key, _ = derive_keys(SECRET, SALT)
    scrambler = RegionScrambler(pixel_key)
    scrambler.begin(index)
    out = scrambler.apply(image, region_cases()[name])
    return image, out, scrambler.take(), pixel_key


@pytest.mark.parametrize("name", REGION_NAMES)
def test_every_region_shape_comes_back_bit_exactly(name: str) -> None:
    image, out, seal, key = _scrambled(name)
    inside = union_mask(region_cases()[name], image.shape[:2])
    changed = (out != image).any(axis=2)
    assert changed[inside].mean() > 0.95  # ciphertext: a pixel keeps its value only by chance
    assert not changed[~inside].any()
    np.testing.assert_array_equal(unscramble_frame(out, seal, key), image)


def test_a_wrong_key_does_not_open_a_region() -> None:
    _, out, seal, _ = _scrambled("box")
    other, _ = derive_keys(b"another secret of enough bytes", SALT)
    with pytest.raises(UnreadableMediaError, match="does not match its tag"):
        unscramble_frame(out, seal, other)


def test_one_changed_pixel_is_refused() -> None:
    _, out, seal, key = _scrambled("mask")
    region = seal.regions[0]
    out[
        region.y0 + region.crop_mask().nonzero()[0][0], region.x0 + region.crop_mask().nonzero()[1][0], 0
    ] ^= 1
    with pytest.raises(UnreadableMediaError, match="region 0"):
        unscramble_frame(out, seal, key)


def test_a_seal_from_another_frame_is_refused() -> None:
    _, out, seal, key = _scrambled("box", index=3)
    with pytest.raises(UnreadableMediaError):
        unscramble_frame(out, FrameSeal(4, seal.regions), key)


def test_nonces_differ_between_regions_and_runs() -> None:
    _, _, first, _ = _scrambled("all-overlapping")
    _, _, second, _ = _scrambled("all-overlapping")
    nonces = [r.nonce for r in (*first.regions, *second.regions)]
    assert len(set(nonces)) == len(nonces)


def test_the_region_list_round_trips_and_refuses_another_key(tmp_path: Path) -> None:
    _, _, seal, _ = _scrambled("all-overlapping")
    path = tmp_path / "out.png.veil-regions"
    write_region_list(path, SECRET, RegionList(160, 120, SALT, (seal,)))
    assert SECRET not in path.read_bytes()
    back = read_region_list(path, SECRET)
    assert back.seals == (seal,) and (back.width, back.height) == (160, 120)
    with pytest.raises(ConfigError, match="wrong key"):
        read_region_list(path, b"another secret of enough bytes")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="changed"):
        read_region_list(path, SECRET)


def test_a_missing_region_list_says_so(tmp_path: Path) -> None:
    with pytest.raises(UnreadableMediaError, match="no region list"):
        read_region_list(tmp_path / "nope.veil-regions", SECRET)
