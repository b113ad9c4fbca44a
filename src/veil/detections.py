"""The one detections type every stage speaks: detectors produce it, anonymizers consume it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from veil.types import ObjectClass, Origin

__all__ = ["Detections", "Polygon"]

Polygon = npt.NDArray[np.float32]
"""K×2 float32 (x, y) vertices in frame pixels, in drawing order."""


def _object_array(items: Sequence[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


@dataclass(frozen=True, eq=False)
class Detections:
    """Regions found in one frame.

    Args:
        boxes_xyxy: (N, 4) float32 pixel boxes ``x1, y1, x2, y2``.
        scores: (N,) float32 confidence in [0, 1].
        labels: (N,) object array of :class:`ObjectClass`.
        masks: optional (N, H, W) bool silhouettes in frame coordinates.
        polygons: optional length-N tuple; entry i is a K×2 polygon or ``None``.
        track_ids: optional (N,) int64; -1 where no track is known.
        origins: (N,) object array of :class:`Origin`.

    Empty masks, polygons or track ids are ``None`` rather than zero-length arrays.
    """

    boxes_xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    labels: npt.NDArray[np.object_]
    masks: npt.NDArray[np.bool_] | None = None
    polygons: tuple[Polygon | None, ...] | None = None
    track_ids: npt.NDArray[np.int64] | None = None
    origins: npt.NDArray[np.object_] = field(default_factory=lambda: _object_array([]))

    def __post_init__(self) -> None:
        n = len(self.boxes_xyxy)
        object.__setattr__(self, "boxes_xyxy", np.asarray(self.boxes_xyxy, np.float32).reshape(n, 4))
        object.__setattr__(self, "scores", np.asarray(self.scores, np.float32).reshape(n))
        if len(self.origins) != n:
            object.__setattr__(self, "origins", _object_array([Origin.DETECTED] * n))
        if len(self.labels) != n:
            raise ValueError(f"labels has {len(self.labels)} entries for {n} boxes")
        if self.masks is not None and len(self.masks) != n:
            raise ValueError(f"masks has {len(self.masks)} entries for {n} boxes")
        if self.polygons is not None and len(self.polygons) != n:
            raise ValueError(f"polygons has {len(self.polygons)} entries for {n} boxes")
        if self.track_ids is not None and len(self.track_ids) != n:
            raise ValueError(f"track_ids has {len(self.track_ids)} entries for {n} boxes")

    @classmethod
    def create(
        cls,
        boxes_xyxy: npt.ArrayLike,
        scores: npt.ArrayLike,
        labels: Sequence[ObjectClass] | ObjectClass,
        *,
        masks: npt.NDArray[np.bool_] | None = None,
        polygons: Sequence[Polygon | None] | None = None,
        track_ids: npt.ArrayLike | None = None,
        origin: Origin | Sequence[Origin] = Origin.DETECTED,
    ) -> Detections:
        """Build detections from plain arrays; a single label or origin applies to every box."""
        boxes = np.asarray(boxes_xyxy, np.float32).reshape(-1, 4)
        n = len(boxes)
        label_list = [labels] * n if isinstance(labels, ObjectClass) else list(labels)
        origin_list = [origin] * n if isinstance(origin, Origin) else list(origin)
        return cls(
            boxes_xyxy=boxes,
            scores=np.asarray(scores, np.float32).reshape(n),
            labels=_object_array(label_list),
            masks=masks,
            polygons=tuple(polygons) if polygons is not None else None,
            track_ids=np.asarray(track_ids, np.int64).reshape(n) if track_ids is not None else None,
            origins=_object_array(origin_list),
        )

    @classmethod
    def empty(cls) -> Detections:
        """Return detections with no regions."""
        return cls.create(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [])

    def __len__(self) -> int:
        return len(self.boxes_xyxy)

    def __getitem__(self, index: npt.ArrayLike) -> Detections:
        """Select regions by boolean mask or integer indices."""
        idx = np.asarray(index)
        if idx.dtype != bool:
            idx = idx.astype(np.int64).reshape(-1)
        positions = np.arange(len(self))[idx]
        return Detections(
            boxes_xyxy=self.boxes_xyxy[positions],
            scores=self.scores[positions],
            labels=self.labels[positions],
            masks=self.masks[positions] if self.masks is not None else None,
            polygons=tuple(self.polygons[i] for i in positions) if self.polygons is not None else None,
            track_ids=self.track_ids[positions] if self.track_ids is not None else None,
            origins=self.origins[positions],
        )

    def of_class(self, *classes: ObjectClass) -> Detections:
        """Return only the regions whose label is one of ``classes``."""
        wanted = set(classes)
        return self[np.array([label in wanted for label in self.labels], dtype=bool)]

    def polygon(self, i: int) -> Polygon | None:
        """Return region ``i``'s polygon, or ``None`` when it has none."""
        return None if self.polygons is None else self.polygons[i]

    def mask(self, i: int) -> npt.NDArray[np.bool_] | None:
        """Return region ``i``'s silhouette, or ``None`` when it has none."""
        return None if self.masks is None else self.masks[i]

    def with_boxes(self, boxes_xyxy: npt.NDArray[np.float32]) -> Detections:
        """Return a copy with other boxes (same length)."""
        return replace(self, boxes_xyxy=np.asarray(boxes_xyxy, np.float32))

    def with_origin(self, origin: Origin) -> Detections:
        """Return a copy whose regions all have ``origin``."""
        return replace(self, origins=_object_array([origin] * len(self)))

    def with_track_ids(self, track_ids: npt.ArrayLike) -> Detections:
        """Return a copy carrying ``track_ids``."""
        return replace(self, track_ids=np.asarray(track_ids, np.int64).reshape(len(self)))

    @staticmethod
    def concat(parts: Iterable[Detections], frame_shape: tuple[int, int] | None = None) -> Detections:
        """Join several detections of the same frame into one.

        ``frame_shape`` (H, W) is needed only when some parts carry masks and others do not.
        """
        items = [p for p in parts if len(p)]
        if not items:
            return Detections.empty()
        if len(items) == 1:
            return items[0]
        masks: npt.NDArray[np.bool_] | None = None
        if any(p.masks is not None for p in items):
            shape = frame_shape or next(p.masks.shape[1:] for p in items if p.masks is not None)
            masks = np.concatenate(
                [p.masks if p.masks is not None else np.zeros((len(p), *shape), bool) for p in items]
            )
        polygons: tuple[Polygon | None, ...] | None = None
        if any(p.polygons is not None for p in items):
            polygons = tuple(p.polygon(i) for p in items for i in range(len(p)))
        track_ids: npt.NDArray[np.int64] | None = None
        if any(p.track_ids is not None for p in items):
            track_ids = np.concatenate(
                [p.track_ids if p.track_ids is not None else np.full(len(p), -1, np.int64) for p in items]
            )
        return Detections(
            boxes_xyxy=np.concatenate([p.boxes_xyxy for p in items]),
            scores=np.concatenate([p.scores for p in items]),
            labels=np.concatenate([p.labels for p in items]),
            masks=masks,
            polygons=polygons,
            track_ids=track_ids,
            origins=np.concatenate([p.origins for p in items]),
        )
