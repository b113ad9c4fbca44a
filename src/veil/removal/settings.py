"""Frozen settings of one object-removal run: what to remove and how far to look for background."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from veil.checks import check_range
from veil.errors import ConfigError
from veil.types import ObjectClass
from veil.video.settings import OutputSettings

__all__ = ["REMOVABLE_CLASSES", "RemovalSettings"]

REMOVABLE_CLASSES = frozenset({ObjectClass.PERSON, ObjectClass.VEHICLE})
"""Classes whose whole body can be removed (a face or plate alone would leave a headless body)."""


@dataclass(frozen=True)
class RemovalSettings:
    """What one removal run takes out of a video and how it fills the hole.

    Args:
        targets: classes to remove (person, vehicle).
        track_id: remove only the object with this track id (ids as in a detections JSON).
        box_xyxy: remove only what lies in this box (frame pixels ``x1, y1, x2, y2``).
        detections: take regions and track ids from this detections JSON instead of running detectors.
        score_threshold: least detector score of a region to remove.
        detect_every: run the detector on every n-th frame; optical flow carries regions between.
        lookahead_frames: a track is also removed on this many frames before its first sighting (an
            object entering the picture is found a few frames after it appears) and between sightings
            this far apart.
        motion: also remove moving foreground no detection explains (static camera: background model;
            moving camera: motion that disagrees with the camera's).
        silhouettes: remove each region's segmented silhouette (DeepLab) instead of its whole box. Boxes
            are the default: they cost more filling, but leave nothing a coarse silhouette misses (a
            head, an arm), which a person detector then finds again (docs/tuning.md, "Removal").
        box_margin_ratio: grow every region's box by this share of its size on every side before it
            becomes a mask (boxes only, not silhouettes). A detector's box often cuts off a hand or the
            top of a head; what it leaves is not only shown, it is copied into other frames as
            background (``benchmarks/removal_quality.py``; docs/tuning.md, "Removal").
        dilate_px: grow every mask by this many pixels; ``None``: 0.6 % of the frame's long side, at
            least 3 (edges of a silhouette blend into the background over a few pixels).
        shadow_margin_ratio: grow the lower part of each object's mask by this share of its height, so a
            shadow cast around its feet or wheels goes too; 0 turns it off.
        window_radius: frames before and after a frame that may lend it background (the window, and so
            memory, is ``2 × window_radius + 1`` frames).
        plate_samples: most frames whose per-pixel median makes a still camera's background plate.
        flow_long_side_px: optical flow is computed on frames shrunk to this long side.
        output: the encoder, the streams and metadata kept and the largest frame accepted, as every
            video output has them.
        models_dir: folder holding model files (else ``VEIL_MODELS_DIR``, then the user cache).
    """

    targets: frozenset[ObjectClass] = REMOVABLE_CLASSES
    track_id: int | None = None
    box_xyxy: tuple[float, float, float, float] | None = None
    detections: Path | None = None
    score_threshold: float = 0.25
    detect_every: int = 1
    lookahead_frames: int = 10
    motion: bool = True
    silhouettes: bool = False
    box_margin_ratio: float = 0.1
    dilate_px: int | None = None
    shadow_margin_ratio: float = 0.1
    window_radius: int = 15
    plate_samples: int = 15
    flow_long_side_px: int = 640
    output: OutputSettings = field(default_factory=OutputSettings)
    models_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("targets is empty: name person, vehicle or both")
        other = self.targets - REMOVABLE_CLASSES
        if other:
            names = ", ".join(sorted(c.value for c in other))
            raise ConfigError(f"cannot remove {names}: removal takes whole persons and vehicles only")
        if self.track_id is not None and self.track_id < 0:
            raise ConfigError(f"track_id={self.track_id!r} must be >= 0")
        if self.box_xyxy is not None:
            if len(self.box_xyxy) != 4:
                raise ConfigError(f"box_xyxy={self.box_xyxy!r} needs 4 numbers x1, y1, x2, y2")
            x1, y1, x2, y2 = self.box_xyxy
            if not (x2 > x1 and y2 > y1):
                raise ConfigError(f"box_xyxy={self.box_xyxy!r} is empty: x2 must exceed x1 and y2 exceed y1")
        check_range("score_threshold", self.score_threshold, 0.0, 1.0)
        check_range("detect_every", self.detect_every, 1, 1000)
        check_range("lookahead_frames", self.lookahead_frames, 0, 1000)
        if self.dilate_px is not None:
            check_range("dilate_px", self.dilate_px, 0, 256)
        check_range("box_margin_ratio", self.box_margin_ratio, 0.0, 1.0)
        check_range("shadow_margin_ratio", self.shadow_margin_ratio, 0.0, 1.0)
        check_range("window_radius", self.window_radius, 1, 120)
        check_range("plate_samples", self.plate_samples, 3, 61)
        check_range("flow_long_side_px", self.flow_long_side_px, 64, 4096)

    def dilation_px(self, frame_hw: tuple[int, int]) -> int:
        """Return the mask dilation in pixels for frames of ``frame_hw`` (H, W)."""
        if self.dilate_px is not None:
            return self.dilate_px
        return max(3, round(_AUTO_DILATE_RATIO * max(frame_hw)))


_AUTO_DILATE_RATIO = 0.006
