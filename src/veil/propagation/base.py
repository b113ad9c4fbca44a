"""The Propagator protocol: carry regions onto frames the detector skipped."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from veil.detections import Detections
from veil.types import Frame

__all__ = ["NoPropagation", "Propagator"]


@runtime_checkable
class Propagator(Protocol):
    """Turn each frame's detections (or their absence) into the regions to hide on that frame.

    ``update`` is called once per frame, in order. ``detections`` is ``None`` on frames where the
    detector did not run; the propagator then returns the regions it carried over, marked
    :attr:`~veil.types.Origin.PROPAGATED`. On detection frames it returns the detections (with track
    ids where it keeps tracks) plus any regions it still holds for tracks the detector missed.
    """

    def update(self, frame: Frame, detections: Detections | None) -> Detections:
        """Return the regions to hide on ``frame``; ``None``: the detector skipped this frame."""
        ...

    def reset(self) -> None:
        """Forget everything carried so far (scene cut, seek)."""
        ...


class NoPropagation:
    """Carry nothing: return each frame's detections, and no region on skipped frames.

    Only safe when the detector runs on every frame (``detect_every=1``): a skipped frame gets no
    region at all.
    """

    def update(self, frame: Frame, detections: Detections | None) -> Detections:
        """Return ``detections``, or no region when the detector skipped ``frame``."""
        return Detections.empty() if detections is None else detections

    def reset(self) -> None:
        """Do nothing: there is no state."""
