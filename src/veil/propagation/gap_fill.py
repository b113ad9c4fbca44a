"""Look ahead a few frames so a track is hidden on every frame between, before and after its sightings."""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.errors import ConfigError
from veil.types import ObjectClass, Origin

__all__ = ["LookAheadGapFiller"]


@dataclass(frozen=True, slots=True)
class _Sighting:
    index: int
    scene: int
    box: npt.NDArray[np.float32]
    label: ObjectClass
    score: float


@dataclass(frozen=True, slots=True)
class _Pending:
    index: int
    scene: int
    detections: Detections


class LookAheadGapFiller:
    """Delay frames by ``lookahead_frames`` and add the regions their tracks are missing.

    Frames go in with ``push`` in stream order, each with regions carrying track ids, and come out
    in the same order, each exactly once, ``lookahead_frames`` (K) frames later (``flush`` releases
    the rest at the end). A frame that lacks a track's region gets one, marked
    :attr:`~veil.types.Origin.PROPAGATED` (so the policy grows it by the wider margin), when:

    - the track was seen before and after it, at most K frames apart: the box is interpolated;
    - else the track was seen at most ``hold_frames`` (H) frames before it: its last box;
    - else the track is seen at most K frames after it (its first sighting, or its return after a
      longer gap): its next box, so an object is hidden while it enters, before it is detected.

    When both of the last two apply, the nearer sighting wins. Fills never cross a scene cut. With
    K = 0 frames come out at once and only the hold applies: the same class serves live input.
    Regions without a track id (-1) pass through and are never filled. Filled regions carry boxes
    only (no mask or polygon), which cover at least as much as the shapes they stand for.

    Args:
        lookahead_frames: K, how many frames each frame waits for its future.
        hold_frames: H, how many frames a track stays after its last sighting.
    """

    def __init__(self, lookahead_frames: int = 0, hold_frames: int = 0) -> None:
        if not 0 <= lookahead_frames <= 10_000:
            raise ConfigError(f"lookahead_frames={lookahead_frames!r} is out of range [0, 10000]")
        if not 0 <= hold_frames <= 10_000:
            raise ConfigError(f"hold_frames={hold_frames!r} is out of range [0, 10000]")
        self.lookahead_frames = lookahead_frames
        self.hold_frames = hold_frames
        self._pending: deque[_Pending] = deque()
        self._sightings: dict[int, list[_Sighting]] = {}
        self._scene = 0
        self._last_index: int | None = None

    def push(
        self, index: int, detections: Detections, *, scene_cut: bool = False
    ) -> list[tuple[int, Detections]]:
        """Add frame ``index``'s regions; return the frames now ready, oldest first, as (index, regions).

        ``scene_cut`` marks ``index`` as the first frame of a new scene. Indices must increase.
        """
        if self._last_index is not None and index <= self._last_index:
            raise ValueError(f"frame {index} pushed after frame {self._last_index}: indices must increase")
        self._last_index = index
        self._scene += int(scene_cut)
        self._pending.append(_Pending(index, self._scene, detections))
        self._record(index, detections)
        ready = []
        while self._pending and index - self._pending[0].index >= self.lookahead_frames:
            ready.append(self._emit(self._pending.popleft()))
        return ready

    def flush(self) -> list[tuple[int, Detections]]:
        """Return every frame still waiting, filled with what is known; then start afresh."""
        ready = [self._emit(item) for item in list(self._pending)]
        self._pending.clear()
        self._sightings.clear()
        self._last_index = None
        return ready

    def _record(self, index: int, detections: Detections) -> None:
        if detections.track_ids is None:
            return
        for row, track_id in enumerate(detections.track_ids):
            if track_id < 0:
                continue
            sightings = self._sightings.setdefault(int(track_id), [])
            if sightings and sightings[-1].index == index:
                continue  # one region per track and frame is enough to anchor fills
            sightings.append(
                _Sighting(
                    index,
                    self._scene,
                    detections.boxes_xyxy[row].copy(),
                    detections.labels[row],
                    float(detections.scores[row]),
                )
            )

    def _emit(self, item: _Pending) -> tuple[int, Detections]:
        present = set() if item.detections.track_ids is None else {int(i) for i in item.detections.track_ids}
        boxes, scores, labels, ids = [], [], [], []
        for track_id, sightings in self._sightings.items():
            if track_id in present:
                continue
            fill = self._fill(sightings, item.index, item.scene)
            if fill is not None:
                boxes.append(fill[0])
                scores.append(fill[1].score)
                labels.append(fill[1].label)
                ids.append(track_id)
        self._forget_before(item.index)
        if not ids:
            return item.index, item.detections
        filled = Detections.create(
            np.array(boxes, np.float32), scores, labels, track_ids=ids, origin=Origin.PROPAGATED
        )
        return item.index, Detections.concat([item.detections, filled])

    def _fill(
        self, sightings: list[_Sighting], index: int, scene: int
    ) -> tuple[npt.NDArray[np.float32], _Sighting] | None:
        """Return the box a track should have on frame ``index`` and the sighting it comes from."""
        at = bisect.bisect_left([s.index for s in sightings], index)
        before = sightings[at - 1] if at > 0 and sightings[at - 1].scene == scene else None
        after = sightings[at] if at < len(sightings) and sightings[at].scene == scene else None
        if before is not None and after is not None and after.index - before.index <= self.lookahead_frames:
            share = (index - before.index) / (after.index - before.index)
            return (before.box + (after.box - before.box) * share).astype(np.float32), before
        candidates: list[tuple[int, _Sighting]] = []
        if before is not None and index - before.index <= self.hold_frames:
            candidates.append((index - before.index, before))
        if after is not None and after.index - index <= self.lookahead_frames:
            candidates.append((after.index - index, after))
        if not candidates:
            return None
        nearest = min(candidates, key=lambda c: c[0])[1]  # ties go to the earlier sighting
        return nearest.box, nearest

    def _forget_before(self, index: int) -> None:
        """Drop sightings too old to fill frame ``index`` or any later one."""
        oldest_useful = index - max(self.hold_frames, self.lookahead_frames)
        for track_id in list(self._sightings):
            sightings = self._sightings[track_id]
            del sightings[: bisect.bisect_left([s.index for s in sightings], oldest_useful)]
            if not sightings:
                del self._sightings[track_id]
