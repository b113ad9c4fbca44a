"""MaskSource: the mask of what to remove on each frame, from a (fake) detector, in order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from removal_scenes import clip

from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.removal import RemovalSettings
from veil.removal.mask_source import FrameMask, MaskSource
from veil.types import Frame, ObjectClass

SQUARE = [10.0, 36.0, 34.0, 60.0]  # the still square of removal_scenes.clip(velocity=(0, 0))
BASE = RemovalSettings(motion=False, shadow_margin_ratio=0.0, dilate_px=0, box_margin_ratio=0.0)


def _found_from(first: int) -> FakeDetector:
    """A detector that misses the square on frames before ``first`` and finds it from then on."""

    def script(index: int, _: object) -> Detections:
        if index < first:
            return Detections.empty()
        return Detections.create([SQUARE], [0.9], ObjectClass.PERSON)

    return FakeDetector(script)


def _masks(source: MaskSource, frames: list[Frame]) -> list[FrameMask]:
    out: list[FrameMask] = []
    for frame in frames:
        out += source.push(frame)
    return out + source.flush()


def _covered(item: FrameMask) -> bool:
    x1, y1, x2, y2 = (int(v) for v in SQUARE)
    return bool(item.mask[y1:y2, x1:x2].all())


def test_an_object_found_late_is_removed_on_the_frames_before() -> None:
    frames, _, _ = clip(12, velocity=(0, 0))
    settings = replace(BASE, lookahead_frames=5)
    done = _masks(MaskSource(settings, detector=_found_from(4)), frames)
    assert [d.frame.index for d in done] == list(range(12))
    assert [_covered(d) for d in done] == [True] * 12


def test_without_lookahead_the_frames_before_keep_the_object() -> None:
    frames, _, _ = clip(8, velocity=(0, 0))
    settings = replace(BASE, lookahead_frames=0)
    done = _masks(MaskSource(settings, detector=_found_from(4)), frames)
    assert [_covered(d) for d in done] == [False] * 4 + [True] * 4
    assert not done[0].mask.any()


def test_frames_wait_only_as_long_as_the_lookahead() -> None:
    frames, _, _ = clip(8, velocity=(0, 0))
    settings = replace(BASE, lookahead_frames=3)
    source = MaskSource(settings, detector=_found_from(0))
    released = [len(source.push(frame)) for frame in frames]
    assert released == [0, 0, 0, 1, 1, 1, 1, 1]
    assert [d.frame.index for d in source.flush()] == [5, 6, 7]


def test_box_margin_grows_the_box_by_its_share_on_every_side() -> None:
    frames, _, _ = clip(1, velocity=(0, 0))
    plain = _masks(MaskSource(BASE, detector=_found_from(0)), frames)[0].mask
    settings = replace(BASE, box_margin_ratio=0.25)
    grown = _masks(MaskSource(settings, detector=_found_from(0)), frames)[0].mask
    ys, xs = np.nonzero(grown)
    assert plain.sum() == 24 * 24
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (4, 30, 40, 66)  # 6 px = 24 × 0.25
