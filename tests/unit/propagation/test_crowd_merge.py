from __future__ import annotations

import numpy as np
import pytest

from veil.detections import Detections
from veil.errors import ConfigError
from veil.propagation.crowd import merge_crowds
from veil.types import ObjectClass, Origin

PERSON, FACE = ObjectClass.PERSON, ObjectClass.FACE


def _row_of_persons(count: int, x0: float = 0.0, spacing: float = 22.0) -> list[list[float]]:
    return [[x0 + spacing * i, 100, x0 + spacing * i + 20, 160] for i in range(count)]


def test_few_persons_are_left_alone() -> None:
    found = Detections.create(_row_of_persons(10), [0.9] * 10, PERSON)
    assert merge_crowds(found) is found


def test_a_crowd_becomes_one_region_around_it() -> None:
    boxes = _row_of_persons(11)
    scores = np.linspace(0.3, 0.8, 11)
    found = Detections.create(boxes, scores, PERSON, track_ids=range(11))
    merged = merge_crowds(found)
    assert len(merged) == 1
    assert merged.boxes_xyxy[0].tolist() == [0, 100, 22 * 10 + 20, 160]
    assert merged.scores[0] == pytest.approx(0.8)
    assert merged.track_ids is not None and merged.track_ids.tolist() == [-1]
    assert list(merged.origins) == [Origin.DETECTED]


def test_separate_groups_and_loners_and_other_classes() -> None:
    group_a = _row_of_persons(6)
    group_b = _row_of_persons(5, x0=600)
    loner = [[400, 400, 420, 460]]
    faces = [[2, 102, 10, 110]]
    origins = [Origin.DETECTED] * 6 + [Origin.DETECTED] * 4 + [Origin.PROPAGATED] + [Origin.DETECTED] * 2
    found = Detections.create(
        group_a + group_b + loner + faces,
        [0.9] * 13,
        [PERSON] * 12 + [FACE],
        origin=origins,
    )
    merged = merge_crowds(found)
    boxes = sorted(merged.boxes_xyxy.tolist())
    assert boxes == sorted(
        [[0, 100, 130, 160], [600, 100, 708, 160], [400, 400, 420, 460], [2, 102, 10, 110]]
    )
    by_box = {tuple(b): o for b, o in zip(merged.boxes_xyxy.tolist(), merged.origins, strict=True)}
    assert by_box[(600, 100, 708, 160)] is Origin.PROPAGATED  # one member was propagated
    assert [label.value for label in merged.labels].count("face") == 1


def test_the_gap_ratio_decides_what_is_near() -> None:
    spaced = Detections.create(_row_of_persons(11, spacing=30), [0.9] * 11, PERSON)  # 10 px apart
    assert len(merge_crowds(spaced, gap_ratio=0.0)) == 11
    assert len(merge_crowds(spaced, gap_ratio=0.25)) == 1  # each grows 5 px a side: they touch


def test_a_crowd_with_masks_gets_an_empty_mask_so_it_is_drawn_as_its_box() -> None:
    masks = np.ones((11, 200, 300), np.bool_)
    found = Detections.create(_row_of_persons(11), [0.9] * 11, PERSON, masks=masks)
    merged = merge_crowds(found)
    assert merged.masks is not None and merged.masks.shape == (1, 200, 300)
    assert not merged.masks.any()


@pytest.mark.parametrize(("crowd_size", "gap_ratio"), [(-1, 0.25), (10, -0.1), (10, 11.0)])
def test_out_of_range_settings_are_refused(crowd_size: int, gap_ratio: float) -> None:
    with pytest.raises(ConfigError):
        merge_crowds(Detections.empty(), crowd_size=crowd_size, gap_ratio=gap_ratio)
