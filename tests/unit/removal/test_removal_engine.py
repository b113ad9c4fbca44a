from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from removal_scenes import clip, psnr

from veil.errors import ConfigError
from veil.removal import engine
from veil.removal.base import ClipAnonymizer, ClipRemover, FlatFill
from veil.removal.batches import CameraMotion
from veil.removal.engine import FilledFrame, WindowFiller
from veil.types import Frame


def _run(filler: WindowFiller, frames: list[Frame], masks: list[np.ndarray]) -> list[FilledFrame]:
    done: list[FilledFrame] = []
    for frame, mask in zip(frames, masks, strict=True):
        done += filler.push(frame, mask)
    return done + filler.flush()


def test_still_camera_takes_the_background_plate() -> None:
    frames, masks, truths = clip(24)
    done = _run(WindowFiller(window_radius=8), frames, masks)
    assert [d.frame.index for d in done] == list(range(24))
    assert all(d.motion is CameraMotion.STILL for d in done)
    for d in done:
        assert psnr(d.image, truths[d.frame.index], d.mask) > 40
        outside = ~d.mask
        assert np.array_equal(d.image[outside], frames[d.frame.index].image[outside])


def test_moving_camera_carries_colour_along_the_flow() -> None:
    frames, masks, truths = clip(20, pan=(2, 1), velocity=(6, 0))
    done = _run(WindowFiller(window_radius=8), frames, masks)
    assert [d.motion for d in done[5:]] == [CameraMotion.MOVING] * 15
    scores = [psnr(d.image, truths[d.frame.index], d.mask) for d in done]
    assert np.median(scores) > 30
    assert sum(d.counts.from_other_frames for d in done) > 0.9 * sum(d.counts.masked for d in done)


def test_input_frames_are_not_modified() -> None:
    frames, masks, _ = clip(6)
    before = [f.image.copy() for f in frames]
    _run(WindowFiller(window_radius=2), frames, masks)
    assert all(np.array_equal(a, f.image) for a, f in zip(before, frames, strict=True))


def test_never_seen_pixels_are_inpainted_once_and_kept() -> None:
    # A still square: nothing behind it is ever shown, so it is filled spatially and then carried.
    frames, masks, _ = clip(8, velocity=(0, 0))
    done = _run(WindowFiller(window_radius=3), frames, masks)
    assert done[0].counts.spatial == done[0].counts.masked
    assert all(d.counts.carried == d.counts.masked for d in done[1:])
    filled = [d.image[d.mask].astype(int) for d in done]
    assert all(np.abs(f - filled[0]).max() <= 1 for f in filled)
    red = np.array([220, 30, 30])
    assert np.abs(filled[0] - red).sum(axis=1).min() > 60  # no trace of the square's colour


def test_accumulated_masks_cover_a_flickering_segmentation() -> None:
    frames, masks, _ = clip(6, velocity=(0, 0))
    holes = [m if i % 2 else np.zeros_like(m) for i, m in enumerate(masks)]
    done = _run(WindowFiller(window_radius=2, accumulate_masks=True), frames, holes)
    assert all(np.array_equal(d.mask, masks[0]) for d in done)


def test_a_cut_starts_a_new_batch_that_borrows_nothing_across_it() -> None:
    frames, masks, _ = clip(10)
    filler = WindowFiller(window_radius=3)
    done: list[FilledFrame] = []
    for i, (frame, mask) in enumerate(zip(frames, masks, strict=True)):
        done += filler.push(frame, mask, cut=i == 5)
    done += filler.flush()
    assert len(done) == 10
    assert filler.organizer.segments == 2


def test_empty_mask_returns_the_frame_untouched() -> None:
    frames, masks, _ = clip(3)
    done = _run(WindowFiller(window_radius=1), frames, [np.zeros_like(m) for m in masks])
    assert all(d.image is f.image for d, f in zip(done, frames, strict=True))


def test_mask_of_the_wrong_size_is_refused() -> None:
    frames, masks, _ = clip(1)
    with pytest.raises(ValueError, match="mask shape"):
        WindowFiller().push(frames[0], masks[0][:-1])


@pytest.mark.parametrize(
    "options",
    [{"window_radius": 0}, {"plate_samples": 2}, {"flow_long_side_px": 10}],
)
def test_bad_options_name_the_field(options: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match=next(iter(options))):
        WindowFiller(**options)


@pytest.mark.parametrize("remover", [ClipRemover(window_radius=4), FlatFill()])
def test_clip_anonymizers_replace_every_masked_pixel(remover: ClipAnonymizer) -> None:
    frames, masks, _ = clip(8)
    assert isinstance(remover, ClipAnonymizer)
    images = remover.apply_clip(frames, masks)
    assert len(images) == len(frames)
    red = np.array([220, 30, 30])
    for image, frame in zip(images, frames, strict=True):
        assert image is not frame.image
        square = np.all(frame.image == red, axis=2)
        assert not np.all(image[square] == red, axis=1).any()


def test_a_frame_whose_mask_missed_the_object_lends_none_of_it() -> None:
    # Frame 10's mask is empty (a detector miss): the square shows there, but must not be copied
    # into the frames around it as background.
    frames, masks, _ = clip(20, pan=(2, 1), velocity=(6, 0))
    masks[10] = np.zeros_like(masks[10])
    done = _run(WindowFiller(window_radius=8), frames, masks)
    red = np.array([220, 30, 30])
    for d in done:
        if d.frame.index == 10:
            continue
        filled = d.image[d.mask].astype(int)
        assert np.abs(filled - red).sum(axis=1).min() > 60, f"frame {d.frame.index} got the square's colour"


def _noisy_still_clip_with_lights_up_at(frame: int) -> tuple[list[Frame], list[np.ndarray], list[np.ndarray]]:
    frames, masks, truths = clip(20, velocity=(5, 0))
    rng = np.random.default_rng(0)
    for t, f in enumerate(frames):
        lift = 30 if t >= frame else 0
        noise = rng.integers(-2, 3, f.image.shape)
        f.image[:] = np.clip(f.image.astype(int) + noise + lift, 0, 255).astype(np.uint8)
        truths[t] = np.clip(truths[t].astype(int) + lift, 0, 255).astype(np.uint8)
    return frames, masks, truths


def _shimmer(done: list[FilledFrame]) -> float:
    """Return the share of pixels filled on frames 2-4 and the frame before whose colour changed."""
    changed = []
    for a, b in pairwise(done[1:5]):
        both = a.mask & b.mask
        changed.append(float((b.image[both] != a.image[both]).any(axis=1).mean()))
    return float(np.mean(changed))


@pytest.mark.parametrize(("steady_levels", "most_shimmer"), [(None, 0.05), (-1.0, 1.0)])
def test_a_still_cameras_fill_stays_put_through_noise_and_follows_lighting(
    monkeypatch: pytest.MonkeyPatch, steady_levels: float | None, most_shimmer: float
) -> None:
    if steady_levels is not None:  # the control: every change comes through
        monkeypatch.setattr(engine, "_STEADY_LEVELS", steady_levels)
    frames, masks, truths = _noisy_still_clip_with_lights_up_at(10)
    done = _run(WindowFiller(window_radius=6), frames, masks)
    assert all(d.motion is CameraMotion.STILL for d in done)
    shimmer = _shimmer(done)
    assert shimmer <= most_shimmer
    if steady_levels is not None:
        assert shimmer > 0.5  # without steadying, the sensor noise makes most of the fill shimmer
    assert psnr(done[-1].image, truths[-1], done[-1].mask) > 40  # the new lighting came through


def test_accumulated_masks_lend_nothing_the_grown_union_covers() -> None:
    # A still object segmented by halves: only its left half until frame 6, all of it from then on.
    # Frames filled once the union holds all of it must not copy the right half's red back in, from
    # earlier frames (as background) or from earlier outputs (carried), where it was not masked yet.
    frames, masks, _ = clip(14, velocity=(0, 0))
    columns = np.flatnonzero(masks[0].any(axis=0))
    left = [m.copy() for m in masks[:6]]
    for m in left:
        m[:, columns[len(columns) // 2] :] = False
    far_right = masks[0].copy()  # away from the left half, whose early inpainting took in some red
    far_right[:, : columns[3 * len(columns) // 4]] = False
    done = _run(WindowFiller(window_radius=3, accumulate_masks=True), frames, left + masks[6:])
    red = np.array([220, 30, 30])
    assert [int(d.mask.sum()) for d in done] == [int(left[0].sum())] * 3 + [int(masks[0].sum())] * 11
    for d in done[3:]:
        filled = d.image[far_right].astype(int)
        assert np.abs(filled - red).sum(axis=1).min() > 60, f"frame {d.frame.index} got the square's colour"
