"""Settings of one live run: latency budget, dropping, reconnection and source options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from veil.checks import check_range

__all__ = ["LiveSettings"]


@dataclass(frozen=True)
class LiveSettings:
    """How a live stream is read, held to its latency budget and written.

    Args:
        latency_budget_ms: a frame should leave at most this long after it arrived; frames that would
            leave later are dropped before anonymization while a newer frame waits (never written raw).
        repeat_dropped: write the last anonymized picture at a dropped frame's timestamp, so the output
            keeps the source's frame rate; otherwise dropped frames are left out (variable frame rate).
        background_detection: the detector runs on its own thread and its detections are carried, by
            optical flow, from the detection frame to the frame they land on, so no frame waits for it;
            otherwise each detection frame waits for its detections (a latency spike every few frames).
        realtime: pace a file source at its own frame rate, as a camera would deliver it.
        max_frames: stop after reading this many frames (``None``: run until the source ends or a stop).
        queue_frames: most decoded frames waiting for the anonymizer; older ones are dropped first.
        reconnect_attempts: how many times in a row a lost network source is reopened before giving up.
        reconnect_delay_s: pause before each reopening.
        open_timeout_s: longest wait for a source to open (a listening socket waits for its sender).
        read_timeout_s: longest wait for the next data of an open source before it counts as lost.
        input_options: FFmpeg demuxer/protocol options added to (and overriding) Veil's low-latency ones.
    """

    latency_budget_ms: float = 150.0
    repeat_dropped: bool = False
    background_detection: bool = True
    realtime: bool = False
    max_frames: int | None = None
    queue_frames: int = 8
    reconnect_attempts: int = 0
    reconnect_delay_s: float = 1.0
    open_timeout_s: float = 30.0
    read_timeout_s: float = 5.0
    input_options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_range("latency_budget_ms", self.latency_budget_ms, 1.0, 60_000.0)
        if self.max_frames is not None:
            check_range("max_frames", self.max_frames, 1, 2**40)
        check_range("queue_frames", self.queue_frames, 1, 1000)
        check_range("reconnect_attempts", self.reconnect_attempts, 0, 1000)
        check_range("reconnect_delay_s", self.reconnect_delay_s, 0.0, 600.0)
        check_range("open_timeout_s", self.open_timeout_s, 0.1, 86_400.0)
        check_range("read_timeout_s", self.read_timeout_s, 0.1, 3600.0)

    @property
    def latency_budget_s(self) -> float:
        """The latency budget in seconds."""
        return self.latency_budget_ms / 1000.0
