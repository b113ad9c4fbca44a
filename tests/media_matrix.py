"""Synthetic clips across containers × codecs × time bases × audio, with the times they were written at.

Every clip records the presentation times it was *meant* to have, so a test can check Veil's output
against what the source says rather than against what one decoder makes of it. The presentation times
of a file are read independently of Veil: decoded frame timestamps, except for AVI, where the only
real timestamp is each chunk's slot (the packets' decode times, in ascending order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 64, 48
SAMPLE_RATE = 48000


@dataclass(frozen=True)
class ClipSpec:
    """One synthetic source clip."""

    name: str
    video_codec: str = "libx264"
    frame_rate: Fraction = Fraction(25)
    time_base: Fraction | None = None  # default 1 / frame_rate
    ticks: tuple[int, ...] = ()  # frame pts in time_base; default one frame period apart
    frames: int = 20
    start_s: Fraction = Fraction(0)
    audio_codec: str | None = "aac"
    b_frames: bool = True
    title: str | None = None
    location: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)

    @property
    def format(self) -> str | None:
        return {".h264": "h264", ".h265": "hevc", ".hevc": "hevc"}.get(Path(self.name).suffix)

    @property
    def stream_time_base(self) -> Fraction:
        return self.time_base or 1 / self.frame_rate

    def pts(self) -> list[int]:
        tb = self.stream_time_base
        start = round(self.start_s / tb)
        if self.ticks:
            return [start + t for t in self.ticks[: self.frames]]
        step = 1 / (self.frame_rate * tb)
        assert step.denominator == 1, "frame period must be whole ticks"
        return [start + i * int(step) for i in range(self.frames)]

    def times(self) -> list[Fraction]:
        """The presentation time of every frame, in seconds, as written."""
        return [p * self.stream_time_base for p in self.pts()]


def _frame(index: int) -> np.ndarray:
    rng = np.random.default_rng(index)
    image = rng.integers(60, 180, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    x = (index * 3) % (WIDTH - 16)
    image[10:26, x : x + 16] = 230
    return image


def _audio(
    out: av.container.OutputContainer, stream: av.AudioStream, start_s: Fraction, end_s: Fraction
) -> None:
    context = stream.codec_context
    size = context.frame_size or 1024
    fmt = context.format.name if context.format is not None else "fltp"
    first = round(start_s * SAMPLE_RATE)
    total = round((end_s - start_s) * SAMPLE_RATE)
    for offset in range(0, total, size):
        n = min(size, total - offset)
        if context.frame_size and n < size:
            break  # fixed-size encoders take whole frames only
        t = (first + offset + np.arange(n)) / SAMPLE_RATE
        wave = 0.3 * np.sin(2 * np.pi * 440 * t)
        if fmt.startswith("s16"):
            samples = (wave * 32767).astype(np.int16)
        elif fmt.startswith("s32"):
            samples = (wave * 2**31 - 1).astype(np.int32)
        else:
            samples = wave.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format=fmt, layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts, frame.time_base = first + offset, Fraction(1, SAMPLE_RATE)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def write_clip(folder: Path, spec: ClipSpec) -> Path:
    """Write ``spec`` under ``folder`` and return its path."""
    path = folder / spec.name
    tb = spec.stream_time_base
    with av.open(str(path), "w", format=spec.format, options=dict(spec.container_options)) as out:
        if spec.title is not None:
            out.metadata["title"] = spec.title
        if spec.location is not None:
            out.metadata["location"] = spec.location
        video = out.add_stream(spec.video_codec, rate=spec.frame_rate, options=dict(spec.options))
        video.width, video.height = WIDTH, HEIGHT
        video.pix_fmt = "yuvj420p" if spec.video_codec == "mjpeg" else "yuv420p"
        video.codec_context.time_base = tb
        sound = None
        if spec.audio_codec is not None and spec.format is None:
            sound = out.add_stream(spec.audio_codec, rate=SAMPLE_RATE, layout="mono")
        if not spec.b_frames:
            video.codec_context.max_b_frames = 0
        elif spec.video_codec == "mpeg4":
            video.codec_context.max_b_frames = 2
        for index, pts in enumerate(spec.pts()):
            frame = av.VideoFrame.from_ndarray(_frame(index), format="rgb24")
            frame.pts, frame.time_base = pts, tb
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _audio(out, sound, spec.start_s, spec.times()[-1] + 1 / spec.frame_rate)
    return path


def presentation_times(path: Path) -> list[Fraction] | None:
    """Every frame's presentation time in seconds as the file stores it; None for raw streams."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        name = container.format.name
        if name in ("h264", "hevc"):
            return None
        if name == "avi":
            slots = sorted(p.dts for p in container.demux(stream) if p.size and p.dts is not None)
            return [s * stream.time_base for s in slots]
        return [f.pts * f.time_base for f in container.decode(stream)]


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def nominal_rate(path: Path) -> Fraction:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.guessed_rate or stream.average_rate
        assert rate is not None
        return Fraction(rate)


def audio_span(path: Path) -> tuple[Fraction, Fraction] | None:
    """Start and end (seconds) of the first audio stream's packets; None without audio."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        times = [
            (p.pts * p.time_base, (p.pts + (p.duration or 0)) * p.time_base)
            for p in container.demux(audio=0)
            if p.size and p.pts is not None
        ]
    if not times:
        return None
    return min(t for t, _ in times), max(t for _, t in times)


def title_of(path: Path) -> str | None:
    with av.open(str(path)) as container:
        return container.metadata.get("title")


def has_location(path: Path) -> bool:
    with av.open(str(path)) as container:
        return any("location" in key.lower() for key in container.metadata)
