from __future__ import annotations

import itertools

import numpy as np
import pytest
from red_patch_fakes import RedPatchDetector, image_with_patches

from veil.detection.tiling import TiledDetector, tile_origins
from veil.errors import ConfigError


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "expected"),
    [
        (500, 640, 0.25, [0]),
        (640, 640, 0.25, [0]),
        (1000, 640, 0.25, [0, 360]),
        (1280, 640, 0.25, [0, 320, 640]),
        (1920, 640, 0.0, [0, 640, 1280]),
    ],
)
def test_tile_origins(length: int, tile: int, overlap: float, expected: list[int]) -> None:
    origins = tile_origins(length, tile, overlap)
    assert origins == expected
    assert origins[-1] + min(tile, length) == length
    for a, b in itertools.pairwise(origins):
        assert (a + tile - b) >= overlap * tile - 1  # neighbours overlap at least as asked


def test_small_objects_are_found_in_full_resolution_tiles() -> None:
    # A 6-px patch vanishes when the 1200-px image is shrunk to 300 px; a 300-px tile keeps it whole.
    inner = RedPatchDetector(min_px=4)
    image = image_with_patches(600, 1200, [(900, 500, 906, 506), (100, 100, 260, 220)])
    out = TiledDetector(inner, 300, 0.25).detect(image)
    assert inner.seen_shapes[0] == (150, 300, 3)  # the whole-image pass comes first, shrunk
    assert all(shape[:2] <= (300, 300) for shape in inner.seen_shapes[1:])
    centers = (out.boxes_xyxy[:, :2] + out.boxes_xyxy[:, 2:]) / 2
    assert any(np.allclose(c, [903, 503], atol=1) for c in centers)
    big = [b for b in out.boxes_xyxy if b[2] - b[0] > 100]
    assert big  # the big patch is found too
    np.testing.assert_allclose(max(big, key=lambda b: b[2] - b[0]), [100, 100, 260, 220], atol=4)


def test_duplicates_from_overlapping_tiles_are_suppressed() -> None:
    inner = RedPatchDetector(min_px=4)
    # Inside the overlap of the first two tiles (columns 300–400 of a 700-px wide image).
    image = image_with_patches(300, 700, [(320, 100, 340, 120)])
    out = TiledDetector(inner, 400, 0.25).detect(image)
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes_xyxy[0], [320, 100, 340, 120], atol=1)


def test_masks_come_back_at_full_size() -> None:
    inner = RedPatchDetector(min_px=4, with_masks=True)
    image = image_with_patches(300, 700, [(600, 200, 640, 230)])
    out = TiledDetector(inner, 400, 0.25).detect(image)
    assert out.masks is not None
    assert out.masks.shape[1:] == (300, 700)
    best = int(np.argmax(out.masks.reshape(len(out), -1).sum(axis=1)))
    assert out.masks[best, 200:230, 600:640].all()


def test_images_within_one_tile_run_once() -> None:
    inner = RedPatchDetector()
    TiledDetector(inner, 640, 0.25).detect(image_with_patches(480, 640, []))
    assert inner.seen_shapes == [(480, 640, 3)]


@pytest.mark.parametrize(("tile", "overlap"), [(16, 0.2), (640, 0.95), (640, -0.1)])
def test_bad_settings_are_refused(tile: int, overlap: float) -> None:
    with pytest.raises(ConfigError):
        TiledDetector(RedPatchDetector(), tile, overlap)
