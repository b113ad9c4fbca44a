from __future__ import annotations

import numpy as np
import pytest
from red_patch_fakes import RedPatchDetector, image_with_patches

from veil.detection.resize import ResizedDetector, downscale
from veil.errors import ConfigError


def test_small_images_pass_through_untouched() -> None:
    inner = RedPatchDetector()
    image = image_with_patches(100, 200, [(10, 20, 30, 40)])
    out = ResizedDetector(inner, 320).detect(image)
    assert inner.seen_shapes == [(100, 200, 3)]
    np.testing.assert_allclose(out.boxes_xyxy, [[10, 20, 30, 40]])


def test_large_images_are_detected_small_and_mapped_back() -> None:
    inner = RedPatchDetector(with_masks=True)
    image = image_with_patches(400, 800, [(100, 200, 180, 260)])
    before = image.copy()
    out = ResizedDetector(inner, 200).detect(image)
    assert inner.seen_shapes == [(100, 200, 3)]
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes_xyxy[0], [100, 200, 180, 260], atol=4)
    polygon = out.polygon(0)
    assert polygon is not None
    np.testing.assert_allclose(polygon.min(axis=0), [100, 200], atol=4)
    assert out.masks is not None
    assert out.masks.shape == (1, 400, 800)
    assert out.masks[0, 204:256, 104:176].all()
    assert not out.masks[0, :190].any()
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize(
    ("shape", "long_side", "expected"),
    [((720, 1280), 640, (360, 640)), ((1280, 720), 640, (640, 360)), ((300, 200), 640, (300, 200))],
)
def test_downscale_keeps_the_aspect_ratio(
    shape: tuple[int, int], long_side: int, expected: tuple[int, int]
) -> None:
    assert downscale(np.zeros((*shape, 3), np.uint8), long_side).shape[:2] == expected


def test_tiny_targets_are_refused() -> None:
    with pytest.raises(ConfigError, match="long_side_px"):
        ResizedDetector(RedPatchDetector(), 8)
