"""The Propagator and GapFiller protocols: carry regions onto frames the detector skipped, fill gaps."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from veil.detections import Detections
from veil.types import Frame

__all__ = ["GapFiller", "NoGapFill", "NoPropagation", "Propagator"]


@runtime_checkable
class Propagator(Protocol):
    """Turn each frame's detections (or their absence) into the regions to hide on that frame.

    ``update`` is called once per frame, in order. ``detections`` is ``None`` on frames where the
    detector did not run; the propagator then returns the regions it carried over, marked
    :attr:`~veil.types.Origin.PROPAGATED`. On detection frames it returns the detections (with track
    ids where it keeps tracks) plus any regions it still holds for tracks the detector missed.
    ``detected_on`` names the earlier frame ``detections`` were found on when detection ran on its own
    thread and its result lands with a later frame (default: ``frame`` itself).
    """

    def update(
        self, frame: Frame, detections: Detections | None, detected_on: int | None = None
    ) -> Detections:
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

    def update(
        self, frame: Frame, detections: Detections | None, detected_on: int | None = None
    ) -> Detections:
        """Return ``detections``, or no region when the detector skipped ``frame``."""
        return Detections.empty() if detections is None else detections

    def reset(self) -> None:
        """Do nothing: there is no state."""


@runtime_checkable
class GapFiller(Protocol):
    """Delay frames so each track can be hidden on every frame between its sightings.

    Frames go in by increasing index; what comes out is the same frames, oldest first, with the
    regions to hide on each.
    """

    def push(
        self, index: int, detections: Detections, *, scene_cut: bool = False
    ) -> list[tuple[int, Detections]]:
        """Add frame ``index``'s regions; return the frames now ready as (index, regions)."""
        ...

    def flush(self) -> list[tuple[int, Detections]]:
        """Return every frame still waiting; then start afresh."""
        ...


class NoGapFill:
    """Fill nothing and delay nothing: each frame comes out as it goes in, with its own regions."""

    def push(
        self, index: int, detections: Detections, *, scene_cut: bool = False
    ) -> list[tuple[int, Detections]]:
        """Return frame ``index`` at once, with ``detections``."""
        return [(index, detections)]

    def flush(self) -> list[tuple[int, Detections]]:
        """Return nothing: no frame waits."""
        return []
