from __future__ import annotations

import cv2
import numpy as np
import pytest

from veil.detection.merge import merge_overlaps, nms_by_class
from veil.detections import Detections
from veil.types import ObjectClass

FACE, PLATE = ObjectClass.FACE, ObjectClass.LICENSE_PLATE


def test_nms_keeps_the_best_of_overlapping_boxes_per_class() -> None:
    dets = Detections.create(
        [[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]], [0.5, 0.9, 0.7], [FACE, FACE, PLATE]
    )
    out = nms_by_class(dets, 0.5)
    assert len(out) == 2
    np.testing.assert_allclose(out.scores, [0.9, 0.7])
    assert list(out.labels) == [FACE, PLATE]


def test_nms_keeps_separate_boxes() -> None:
    dets = Detections.create([[0, 0, 10, 10], [20, 20, 30, 30]], [0.5, 0.9], FACE)
    assert len(nms_by_class(dets, 0.5)) == 2


def test_merge_gives_union_box_and_best_score() -> None:
    dets = Detections.create([[0, 0, 10, 10], [2, 1, 12, 11], [50, 50, 60, 60]], [0.4, 0.8, 0.6], FACE)
    out = merge_overlaps(dets, 0.5)
    assert len(out) == 2
    np.testing.assert_allclose(out.boxes_xyxy[0], [0, 0, 12, 11])
    assert out.scores[0] == pytest.approx(0.8)
    np.testing.assert_allclose(out.boxes_xyxy[1], [50, 50, 60, 60])


def test_merge_is_transitive() -> None:
    dets = Detections.create([[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]], [0.5, 0.6, 0.7], FACE)
    out = merge_overlaps(dets, 0.5)
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes_xyxy[0], [0, 0, 16, 10])


def test_merge_never_joins_different_classes() -> None:
    dets = Detections.create([[0, 0, 10, 10], [0, 0, 10, 10]], [0.5, 0.6], [FACE, PLATE])
    out = merge_overlaps(dets, 0.1)
    assert len(out) == 2


def test_merged_polygon_covers_every_member() -> None:
    tilted = np.array([[0, 5], [5, 0], [10, 5], [5, 10]], np.float32)
    dets = Detections.create([[0, 0, 10, 10], [1, 1, 11, 11]], [0.9, 0.5], PLATE, polygons=[tilted, None])
    out = merge_overlaps(dets, 0.3)
    assert len(out) == 1
    hull = out.polygon(0)
    assert hull is not None
    for x, y in [*tilted, (1, 1), (11, 1), (11, 11), (1, 11)]:
        assert cv2.pointPolygonTest(hull.reshape(-1, 1, 2), (float(x), float(y)), False) >= 0


def test_merged_masks_are_or_ed_and_a_maskless_member_adds_its_box() -> None:
    masks = np.zeros((2, 20, 20), bool)
    masks[0, 2:8, 2:8] = True  # member 1 has no silhouette (all False)
    dets = Detections.create([[0, 0, 10, 10], [1, 1, 11, 11]], [0.9, 0.5], FACE, masks=masks)
    out = merge_overlaps(dets, 0.3)
    assert out.masks is not None
    assert out.masks[0, 2:8, 2:8].all()
    assert out.masks[0, 1:11, 1:11].all()
    assert not out.masks[0, 12:, 12:].any()


def test_members_without_silhouettes_stay_without() -> None:
    dets = Detections.create(
        [[0, 0, 10, 10], [1, 1, 11, 11]], [0.9, 0.5], FACE, masks=np.zeros((2, 20, 20), bool)
    )
    out = merge_overlaps(dets, 0.3)
    assert out.masks is not None
    assert not out.masks.any()


@pytest.mark.parametrize("n", [0, 1])
def test_small_inputs_pass_through(n: int) -> None:
    dets = Detections.create(np.tile([0, 0, 5, 5], (n, 1)), np.ones(n), FACE)
    assert len(merge_overlaps(dets, 0.5)) == n
    assert len(nms_by_class(dets, 0.5)) == n
