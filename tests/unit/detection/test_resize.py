from __future__ import annotations

import numpy as np
import pytest
from red_patch_fakes import RedPatchDetector, image_with_patches

from veil.detection.resize import ResizedDetector, downscale
from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import ObjectClass


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


def test_small_images_are_enlarged_up_to_the_limit_and_regions_mapped_back() -> None:
    seen: list[tuple[int, ...]] = []

    class Recorder:
        classes = frozenset({ObjectClass.FACE})

        def detect(self, image: np.ndarray) -> Detections:
            seen.append(image.shape)
            h, w = image.shape[:2]
            return Detections.create([[w / 4, h / 4, w / 2, h / 2]], [0.9], ObjectClass.FACE)

    image = np.zeros((90, 160, 3), np.uint8)
    out = ResizedDetector(Recorder(), 1280, max_enlarge=2.0).detect(image)
    assert seen == [(180, 320, 3)]  # 2× is the limit, not the 8× that would reach 1280
    np.testing.assert_allclose(out.boxes_xyxy[0], [40, 22.5, 80, 45])
    ResizedDetector(Recorder(), 200, max_enlarge=2.0).detect(image)
    assert seen[-1] == (112, 200, 3)  # grown only to the long side asked for
    ResizedDetector(Recorder(), 1280).detect(image)
    assert seen[-1] == (90, 160, 3)  # without max_enlarge small images pass through
