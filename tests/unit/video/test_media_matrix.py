"""Every container Veil reads × every container it writes, with odd time bases, VFR and audio.

Each source clip is made here with the times it was meant to have; each output is checked against
them: frame count, every frame's time within one tick, audio start and end within one frame, title
kept and location stripped. Cases that would have caught the old failures: ``tb50.avi`` (a 25 fps
AVI in 1/50 ticks played at double speed), ``bframes.avi`` → ``.avi`` (AVI → AVI aborted on the
copied AAC), any source → ``.h265`` (libx264 forced into a raw HEVC stream), ``vp9.webm`` and
``pcm.mov`` (audio a container cannot hold). The damaged-input cases are at the end.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from media_matrix import (
    ClipSpec,
    audio_span,
    frame_count,
    has_location,
    nominal_rate,
    presentation_times,
    title_of,
    write_clip,
)
from veil.anonymizers.fake import RecordingAnonymizer
from veil.api import open_pipeline
from veil.detection.fake import FakeDetector
from veil.detections import Detections
from veil.errors import TruncatedMediaError
from veil.pipeline.config import EncoderConfig, PipelineConfig, RunOptions
from veil.pipeline.report import RunReport
from veil.types import ObjectClass

_VFR_TICKS = tuple(40 * t for t in (0, 1, 3, 4, 7, 8, 10, 11, 14, 15, 17, 18, 21, 22, 24, 25, 28, 29, 31, 32))
_X265_QUIET = {"x265-params": "log-level=error"}
_VP9_FAST = {"deadline": "realtime", "cpu-used": "8"}
_PLACE = "+48.8584+002.2945/"
_FACE = Detections.create([[8, 8, 40, 40]], [0.9], ObjectClass.FACE)

SOURCES = [
    ClipSpec("cfr25.mp4", title="Matrix", location=_PLACE),
    ClipSpec("vfr.mp4", time_base=Fraction(1, 1000), ticks=_VFR_TICKS),
    ClipSpec("ntsc.mp4", frame_rate=Fraction(30000, 1001), time_base=Fraction(1001, 30000)),
    ClipSpec("offset.mkv", start_s=Fraction(1), title="Matrix", location=_PLACE),
    ClipSpec("pcm.mov", audio_codec="pcm_s16le"),
    ClipSpec("vfr_opus.mkv", time_base=Fraction(1, 1000), ticks=_VFR_TICKS, audio_codec="libopus"),
    ClipSpec("vp9.webm", video_codec="libvpx-vp9", audio_codec="libopus", options=_VP9_FAST),
    ClipSpec("tb50.avi", video_codec="mpeg4", time_base=Fraction(1, 50), audio_codec="libmp3lame"),
    ClipSpec("bframes.avi", frame_rate=Fraction(10)),
    ClipSpec("mjpeg.avi", video_codec="mjpeg", audio_codec="pcm_s16le"),
    ClipSpec("stream.ts", start_s=Fraction(7, 5)),
    ClipSpec("raw.h264", audio_codec=None),
    ClipSpec(
        "raw.h265", video_codec="libx265", frame_rate=Fraction(30), audio_codec=None, options=_X265_QUIET
    ),
]
OUTPUTS = [".mp4", ".mov", ".mkv", ".webm", ".avi", ".ts", ".h264", ".h265"]
# AVI stores slots from zero: a later start becomes zero, and the audio moves with the picture.
_STARTS_AT_ZERO = {".avi"}
# Matroska and MPEG-TS cannot store times before zero: where B-frames or encoder priming reach
# before it, FFmpeg moves both streams later by as much (at most a few frames), together.
_NOTHING_BEFORE_ZERO = {".mkv", ".ts"}
_TITLED = {".mp4", ".mov", ".mkv", ".webm"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("matrix-sources")
    return {spec.name: write_clip(folder, spec) for spec in SOURCES}


def anonymize(src: Path, dst: Path, options: RunOptions | None = None) -> RunReport:
    with open_pipeline(PipelineConfig(), detector=FakeDetector(_FACE), anonymizer=RecordingAnonymizer()) as p:
        return p.anonymize_file(src, dst, options)


_LONGEST_AUDIO_FRAME = Fraction(1152, 48000)  # MP3


def reencoded(src: Path, dst: Path) -> bool:
    """Whether the first audio stream of ``dst`` is in another codec than that of ``src``."""

    def codec(path: Path) -> str:
        with av.open(str(path)) as container:
            return str(container.streams.audio[0].codec_context.name)

    return codec(src) != codec(dst)


def _tick(path: Path) -> Fraction:
    with av.open(str(path)) as container:
        time_base = container.streams.video[0].time_base
        assert time_base is not None
        return time_base


@pytest.mark.parametrize("suffix", OUTPUTS)
@pytest.mark.parametrize("spec", SOURCES, ids=lambda s: s.name)
def test_output_keeps_every_frame_time_and_the_audio(
    sources: dict[str, Path], tmp_path: Path, spec: ClipSpec, suffix: str
) -> None:
    src = sources[spec.name]
    dst = tmp_path / f"out{suffix}"
    report = anonymize(src, dst)
    assert report.frames_written == spec.frames
    assert frame_count(dst) == spec.frames
    assert not list(tmp_path.glob(".*partial*"))

    expected = spec.times()
    period = 1 / spec.frame_rate
    source_audio, output_audio = audio_span(src), audio_span(dst)
    written = presentation_times(dst)
    if written is None:  # a raw stream stores no times, only the source's frame rate
        if not spec.ticks:
            assert nominal_rate(dst) == spec.frame_rate
        assert output_audio is None
        return
    shift = Fraction(0)
    if suffix in _STARTS_AT_ZERO:
        shift = -expected[0]
    elif suffix in _NOTHING_BEFORE_ZERO:
        shift = written[0] - expected[0]
        assert 0 <= shift <= 3 * period, f"both streams moved by {float(shift):.3f} s"
    tick = max(_tick(dst), _tick(src) if spec.format is None else Fraction(0))
    errors = [abs(w - (e + shift)) for w, e in zip(written, expected, strict=True)]
    assert max(errors) <= tick, f"times off by up to {float(max(errors)):.4f} s (tick {tick})"

    if source_audio is None:
        assert output_audio is None
    else:
        assert output_audio is not None, "the audio was lost"
        start, end = (
            max(t + shift, Fraction(0)) if suffix in _STARTS_AT_ZERO else t + shift for t in source_audio
        )
        # Re-encoded audio may end up to one audio frame later (the encoder pads its last frame).
        slack = period + (_LONGEST_AUDIO_FRAME if reencoded(src, dst) else 0)
        assert abs(output_audio[0] - start) <= period
        assert abs(output_audio[1] - end) <= slack

    if spec.title is not None and suffix in _TITLED:
        assert title_of(dst) == spec.title
    assert not has_location(dst)


@pytest.mark.parametrize(
    ("spec", "cut"),
    [
        (ClipSpec("faststart.mp4", frames=40, container_options={"movflags": "+faststart"}), 0.5),
        (ClipSpec("cut.avi", frames=40), 0.5),
        (ClipSpec("cut.mkv", frames=40), 0.5),
        (
            ClipSpec(
                "cut.webm", frames=40, video_codec="libvpx-vp9", audio_codec="libopus", options=_VP9_FAST
            ),
            0.5,
        ),
        (ClipSpec("cut_mjpeg.avi", frames=40, video_codec="mjpeg", audio_codec=None), 0.45),
    ],
    ids=lambda v: v.name if isinstance(v, ClipSpec) else str(v),
)
def test_a_cut_off_file_is_refused_unless_accepted(tmp_path: Path, spec: ClipSpec, cut: float) -> None:
    src = write_clip(tmp_path, spec)
    whole = src.read_bytes()
    src.write_bytes(whole[: int(len(whole) * cut)])
    dst = tmp_path / f"out{src.suffix}"
    with pytest.raises(TruncatedMediaError, match="truncated or damaged"):
        anonymize(src, dst)
    assert not dst.exists()
    assert not list(tmp_path.glob(".*partial*"))

    report = anonymize(src, dst, RunOptions(accept_truncated=True))
    assert 0 < report.frames_written < spec.frames
    assert frame_count(dst) == report.frames_written
    assert len(report.warnings) == 1 and src.name in report.warnings[0]


@pytest.mark.parametrize(("codec", "suffix"), [("libx265", ".mp4"), ("libx265", ".mov"), ("mpeg4", ".mp4")])
def test_a_chosen_codec_keeps_the_audio_and_the_times(
    sources: dict[str, Path], tmp_path: Path, codec: str, suffix: str
) -> None:
    # --codec libx265 used to drop the audio; the container's own audio plan applies to every codec.
    src = sources["cfr25.mp4"]
    dst = tmp_path / f"out{suffix}"
    config = PipelineConfig(encoder=EncoderConfig(codec=codec))
    with open_pipeline(config, detector=FakeDetector(_FACE), anonymizer=RecordingAnonymizer()) as p:
        p.anonymize_file(src, dst)
    with av.open(str(dst)) as container:
        assert container.streams.video[0].codec_context.name == {"libx265": "hevc", "mpeg4": "mpeg4"}[codec]
    assert presentation_times(dst) == SOURCES[0].times()
    assert audio_span(dst) is not None
