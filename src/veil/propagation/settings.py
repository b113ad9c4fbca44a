"""How video frames share detections: the detection schedule and how regions are carried."""

from __future__ import annotations

from dataclasses import dataclass

from veil.checks import check_range

__all__ = ["TemporalConfig"]


@dataclass(frozen=True)
class TemporalConfig:
    """How video frames share detections: run the detector on some frames, carry regions to the rest.

    Args:
        detect_every: the detector runs at least every this many frames (1: every frame), sooner after
            much change and always on a scene cut.
        change_threshold: summed frame change that triggers an early detection; ``None``: never early.
        scene_cut_threshold: thumbnail decorrelation above which a frame starts a new scene.
        flow_long_side_px: optical flow runs on frames shrunk to this long side.
        hold_frames: a track the detector stops finding stays hidden this many frames more.
        lookahead_frames: frames wait this long for their future, so a track is hidden before its first
            detection and across gaps (0: forward only, as live input needs).
        motion_fallback: also hide moving person-sized blobs no region explains.
        static_camera: the camera does not move (the motion fallback models the background instead).
        crowd_size: more persons than this on a frame are merged into crowd regions (0: never).
        face_second_opinion: CenterFace runs beside YuNet on detection frames too (still images always get
            both). It finds some blurred and turned faces YuNet misses, for a quarter of the detection
            time of a 720p detection frame.
    """

    detect_every: int = 5
    change_threshold: float | None = 0.06
    scene_cut_threshold: float = 0.4
    flow_long_side_px: int = 640
    # A face the detector misses on a few detection frames in a row is bridged only if its sightings are
    # close enough: a longer hold and lookahead bridge more misses (fewer leaks) for more hidden area.
    # Half a second at 30 fps bridged most misses for a little more area; longer bridged fewer per
    # share of picture hidden (figures: docs/tuning.md, "Temporal schedule").
    hold_frames: int = 15
    lookahead_frames: int = 15
    motion_fallback: bool = False
    static_camera: bool = False
    crowd_size: int = 10
    face_second_opinion: bool = False

    def __post_init__(self) -> None:
        check_range("detect_every", self.detect_every, 1, 1000)
        if self.change_threshold is not None:
            check_range("change_threshold", self.change_threshold, 1e-6, 100.0)
        check_range("scene_cut_threshold", self.scene_cut_threshold, 1e-6, 1.0)
        check_range("flow_long_side_px", self.flow_long_side_px, 64, 4096)
        check_range("hold_frames", self.hold_frames, 0, 10_000)
        check_range("lookahead_frames", self.lookahead_frames, 0, 1000)
        check_range("crowd_size", self.crowd_size, 0, 10_000)
