"""Stable track ids across frames: per-class IoU matching solved as a linear assignment (LAPJV).

Why not a tracking library: supervision 0.31 no longer ships ByteTrack; its successor, roboflow's
``trackers``, pulls in supervision, matplotlib, requests and ``opencv-python`` (which clashes with the
headless OpenCV Veil uses); norfair pins numpy < 2. Detections here are sparse (every Nth frame) and
are moved onto the current frame by optical flow before matching, which is where a Kalman filter
would have earned its keep, so IoU matching with a constant-velocity guess is all that is left to do.
The assignment is solved by ``lap`` (the solver ByteTrack uses): importing ``scipy.optimize`` for it
cost a third of a second of every run's start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import lap
import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.errors import ConfigError
from veil.geometry import iou_matrix
from veil.types import ObjectClass

__all__ = ["IouTracker", "match_boxes"]

Box = npt.NDArray[np.float32]
# Weight of the newest displacement in a track's velocity (exponential smoothing).
_VELOCITY_GAIN = 0.5


def match_boxes(
    track_boxes: npt.NDArray[np.float32],
    track_labels: Sequence[ObjectClass],
    detection_boxes: npt.NDArray[np.float32],
    detection_labels: Sequence[ObjectClass],
    min_iou: float,
) -> list[tuple[int, int]]:
    """Return (track row, detection row) pairs of the same class that maximise the summed IoU.

    Pairs whose IoU is below ``min_iou`` are left out, so each side may keep unmatched rows.
    """
    if len(track_boxes) == 0 or len(detection_boxes) == 0:
        return []
    iou = iou_matrix(track_boxes.reshape(-1, 4), detection_boxes.reshape(-1, 4)).astype(np.float64)
    same_class = np.asarray(track_labels, object)[:, None] == np.asarray(detection_labels, object)[None, :]
    iou = np.where(same_class, iou, 0.0)
    _, detection_of_track, _ = lap.lapjv(-iou, extend_cost=True)
    return [(int(r), int(c)) for r, c in enumerate(detection_of_track) if c >= 0 and iou[r, c] >= min_iou]


@dataclass
class _Track:
    label: ObjectClass
    box: Box
    last_seen: int
    velocity: npt.NDArray[np.float32]  # box centre displacement per frame, (dx, dy)
    velocity_known: bool = False

    def predicted(self, index: int) -> Box:
        shift = self.velocity * float(index - self.last_seen)
        predicted: Box = (self.box + np.concatenate([shift, shift])).astype(np.float32)
        return predicted


class IouTracker:
    """Give each detection a track id that stays the same while the object stays in view.

    Each call matches the frame's detections to the live tracks of the same class by IoU (tracks
    are first moved by their velocity, or to ``predicted`` boxes given by the caller); matched
    detections take the track's id, unmatched ones start new tracks. Tracks unmatched for more than
    ``max_missed_frames`` frames are forgotten. Ids are unique for the tracker's life, across resets.

    Args:
        min_iou: least IoU for a detection to continue a track.
        max_missed_frames: frames a track may go unmatched before it is forgotten.
    """

    def __init__(self, *, min_iou: float = 0.2, max_missed_frames: int = 30) -> None:
        if not 0.0 < min_iou <= 1.0:
            raise ConfigError(f"min_iou={min_iou!r} is out of range (0, 1]")
        if not 0 <= max_missed_frames <= 100_000:
            raise ConfigError(f"max_missed_frames={max_missed_frames!r} is out of range [0, 100000]")
        self.min_iou = min_iou
        self.max_missed_frames = max_missed_frames
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1

    @property
    def track_ids(self) -> frozenset[int]:
        """Return the ids of the live tracks."""
        return frozenset(self._tracks)

    def update(
        self, index: int, detections: Detections, predicted: Mapping[int, Box] | None = None
    ) -> Detections:
        """Return ``detections`` of frame ``index`` carrying track ids.

        Args:
            predicted: where some live tracks are on this frame (track id → xyxy box), e.g. moved by
                optical flow; other tracks are moved by their own velocity.
        """
        predicted = predicted or {}
        ids = list(self._tracks)
        boxes = np.array(
            [predicted.get(i, self._tracks[i].predicted(index)) for i in ids], np.float32
        ).reshape(-1, 4)
        labels = [self._tracks[i].label for i in ids]
        pairs = match_boxes(boxes, labels, detections.boxes_xyxy, list(detections.labels), self.min_iou)
        assigned = np.full(len(detections), -1, np.int64)
        for row, col in pairs:
            track_id = ids[row]
            self._continue(self._tracks[track_id], detections.boxes_xyxy[col], index)
            assigned[col] = track_id
        for col in np.flatnonzero(assigned < 0).tolist():
            assigned[col] = self._start(detections.labels[col], detections.boxes_xyxy[col], index)
        self._forget_stale(index)
        return detections.with_track_ids(assigned)

    def reset(self) -> None:
        """Forget every track; new ids continue from the last one given."""
        self._tracks.clear()

    def _start(self, label: ObjectClass, box: Box, index: int) -> int:
        track_id = self._next_id
        self._next_id += 1
        self._tracks[track_id] = _Track(label, box.astype(np.float32), index, np.zeros(2, np.float32))
        return track_id

    @staticmethod
    def _continue(track: _Track, box: Box, index: int) -> None:
        frames = index - track.last_seen
        if frames > 0:
            moved = (_centre(box) - _centre(track.box)) / frames
            gain = _VELOCITY_GAIN if track.velocity_known else 1.0
            track.velocity = ((1 - gain) * track.velocity + gain * moved).astype(np.float32)
            track.velocity_known = True
        track.box = box.astype(np.float32)
        track.last_seen = index

    def _forget_stale(self, index: int) -> None:
        for track_id in [i for i, t in self._tracks.items() if index - t.last_seen > self.max_missed_frames]:
            del self._tracks[track_id]


def _centre(box: Box) -> npt.NDArray[np.float32]:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)
