"""What a new user's first commands did to real and odd media: each now gives the right output or a
clear error with its documented exit code, never an abort (exit 134) or a traceback."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import pytest
from test_cli import run

from media_matrix import ClipSpec, audio_span, frame_count, presentation_times, write_clip

pytestmark = pytest.mark.integration


def test_avi_to_avi_keeps_every_frame_at_its_time_with_audio(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "video" / "vtest_pets_480x360.avi"
    dst = tmp_path / "out.avi"
    result = run("anonymize", src, "-o", dst, "-q")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    times = presentation_times(dst)
    assert times is not None and len(times) == frame_count(dst) == 795
    assert times == [Fraction(i, 10) for i in range(795)]
    assert audio_span(dst) is not None
    assert "re-encoded" in result.stderr  # the AVI's ADTS AAC cannot be copied into an AVI


def test_25_fps_avi_in_fiftieths_plays_at_its_own_speed(tmp_path: Path) -> None:
    spec = ClipSpec(
        "cctv.avi", video_codec="mpeg4", time_base=Fraction(1, 50), frames=50, audio_codec="libmp3lame"
    )
    src = write_clip(tmp_path, spec)
    for suffix in (".mp4", ".avi"):
        dst = tmp_path / f"out{suffix}"
        result = run("anonymize", src, "-o", dst, "-q")
        assert result.returncode == 0, result.stderr
        times = presentation_times(dst)
        assert times is not None and times[-1] == spec.times()[-1] == Fraction(98, 50)


@pytest.mark.parametrize("suffix", [".h265", ".hevc"])
def test_raw_hevc_output_is_hevc_and_quiet(tmp_path: Path, suffix: str) -> None:
    src = write_clip(tmp_path, ClipSpec("clip.mp4", frames=12))
    dst = tmp_path / f"clip.anon{suffix}"
    result = run("anonymize", src, "-o", dst)
    assert result.returncode == 0, result.stderr
    assert "x265 [info]" not in result.stderr
    assert "left out: a raw" in result.stderr  # told before the run that the audio cannot come along
    with av.open(str(dst)) as container:
        assert container.streams.video[0].codec_context.name == "hevc"
    assert frame_count(dst) == 12


def test_a_codec_the_container_cannot_hold_is_refused_before_the_run(tmp_path: Path) -> None:
    src = write_clip(tmp_path, ClipSpec("clip.mp4", frames=12))
    dst = tmp_path / "out.webm"
    result = run("anonymize", src, "-o", dst, "--codec", "libx264")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("veil: ") and result.stderr.count("\n") == 1
    assert "cannot hold libx264" in result.stderr
    assert not dst.exists() and not list(tmp_path.glob(".*partial*"))


def test_a_cut_off_mp4_is_refused_unless_accepted(tmp_path: Path) -> None:
    spec = ClipSpec("cut.mp4", frames=40, container_options={"movflags": "+faststart"})
    src = write_clip(tmp_path, spec)
    src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    dst = tmp_path / "out.mp4"
    refused = run("anonymize", src, "-o", dst)
    assert refused.returncode == 4, refused.stderr
    assert "truncated" in refused.stderr and "--accept-truncated" in refused.stderr
    assert not dst.exists()
    accepted = run("anonymize", src, "-o", dst, "--accept-truncated", "--json")
    assert accepted.returncode == 0, accepted.stderr
    assert 0 < frame_count(dst) < 40
    (warning,) = json.loads(accepted.stdout)["warnings"]
    assert "cut.mp4" in warning and "only the frames that decoded" in warning
    assert "veil: warning:" in accepted.stderr
