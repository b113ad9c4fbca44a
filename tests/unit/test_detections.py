from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.types import ObjectClass, Origin


def _three() -> Detections:
    return Detections.create(
        [[0, 0, 10, 10], [5, 5, 20, 20], [1, 2, 3, 4]],
        [0.9, 0.5, 0.2],
        [ObjectClass.FACE, ObjectClass.LICENSE_PLATE, ObjectClass.FACE],
        polygons=[None, np.array([[5, 5], [20, 5], [20, 20], [5, 20]], np.float32), None],
    )


def test_empty_has_no_regions() -> None:
    empty = Detections.empty()
    assert len(empty) == 0
    assert empty.boxes_xyxy.shape == (0, 4)
    assert len(empty.of_class(ObjectClass.FACE)) == 0


def test_boolean_and_index_selection_keep_fields_aligned() -> None:
    det = _three()
    faces = det.of_class(ObjectClass.FACE)
    assert len(faces) == 2
    assert faces.scores.tolist() == pytest.approx([0.9, 0.2])
    plate = det[np.array([False, True, False])]
    assert plate.labels[0] is ObjectClass.LICENSE_PLATE
    poly = plate.polygon(0)
    assert poly is not None and poly.shape == (4, 2)
    assert det[[2]].boxes_xyxy.tolist() == [[1, 2, 3, 4]]


def test_create_applies_single_label_and_origin_to_all() -> None:
    det = Detections.create([[0, 0, 1, 1], [1, 1, 2, 2]], [1, 1], ObjectClass.TEXT, origin=Origin.PROPAGATED)
    assert list(det.labels) == [ObjectClass.TEXT] * 2
    assert list(det.origins) == [Origin.PROPAGATED] * 2


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="labels"):
        Detections.create([[0, 0, 1, 1]], [1.0], [ObjectClass.FACE, ObjectClass.FACE])


def test_concat_fills_missing_masks_polygons_and_tracks() -> None:
    mask = np.zeros((1, 8, 8), bool)
    mask[0, 2:4, 2:4] = True
    a = Detections.create([[2, 2, 4, 4]], [0.8], ObjectClass.PERSON, masks=mask, track_ids=[7])
    b = _three()
    joined = Detections.concat([a, Detections.empty(), b], frame_shape=(8, 8))
    assert len(joined) == 4
    assert joined.masks is not None and joined.masks.shape == (4, 8, 8)
    assert joined.masks[0].sum() == 4 and not joined.masks[1:].any()
    assert joined.track_ids is not None and joined.track_ids.tolist() == [7, -1, -1, -1]
    assert joined.polygons is not None and joined.polygon(2) is not None and joined.polygon(0) is None


def test_concat_of_nothing_is_empty() -> None:
    assert len(Detections.concat([])) == 0
