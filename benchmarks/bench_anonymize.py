"""End-to-end speed and memory of ``veil anonymize`` beside deface and a transcode-only pass.

Prints frames/s, the ratios and peak RSS for 720p and 1080p copies of a real clip (upscaled here),
and the peak RSS of a clip twice as long, to show memory does not grow with length.

    python benchmarks/bench_anonymize.py            # needs VEIL_DATA_DIR / VEIL_MODELS_DIR or ../shared
    python benchmarks/bench_anonymize.py --no-deface
    python benchmarks/bench_anonymize.py --no-deface --levels standard,strict,guarantee
    python benchmarks/bench_anonymize.py --precisions float32,int8 --levels standard,strict --rounds 3

deface runs from its own virtual environment (created in bench_out/ on first use): its
opencv-python wheel would clash with Veil's opencv-python-headless in one environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench_out"
DATA = Path(os.environ.get("VEIL_DATA_DIR", REPO.parent / "shared" / "data"))
CLIP = DATA / "video" / "dashcam_highway_640x360.mp4"
VEIL = Path(sys.executable).parent / "veil"


@dataclass
class Result:
    frames_per_s: float
    peak_rss_mb: float


def run_measured(cmd: list[str], frames: int) -> Result:
    """Run ``cmd``, returning frames/s over its wall time and its peak resident memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    assert proc.stderr is not None
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return Result(frames / elapsed, usage.ru_maxrss / 1024)


def make_copy(src: Path, dst: Path, width: int, height: int, repeat: int = 1) -> int:
    """Write ``src`` upscaled to width×height (``repeat`` times back to back); return the frame count."""
    if dst.exists():
        with av.open(str(dst)) as probe:
            return sum(1 for _ in probe.decode(video=0))
    frames = 0
    partial = dst.with_name(f".{dst.name}.partial.mp4")
    with av.open(str(partial), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "16", "preset": "veryfast"}
        for _ in range(repeat):
            with av.open(str(src)) as inp:
                for frame in inp.decode(video=0):
                    big = frame.reformat(width=width, height=height, format="yuv420p")
                    # Number frames 0, 1, 2… in 1/30 s across the repeats: the source's own times restart.
                    big.pts, big.time_base = frames, Fraction(1, 30)
                    out.mux(stream.encode(big))
                    frames += 1
        out.mux(stream.encode(None))
    partial.rename(dst)
    return frames


def ffmpeg_executable() -> str | None:
    """Return an ``ffmpeg`` program: on PATH, else the one imageio-ffmpeg put in deface's venv."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    bundled = sorted((OUT / "deface-venv").glob("lib/python*/site-packages/imageio_ffmpeg/binaries/ffmpeg-*"))
    return str(bundled[0]) if bundled else None


def deface_command() -> list[str] | None:
    """Return the deface executable, installing it into its own venv on first use."""
    venv = OUT / "deface-venv"
    exe = venv / "bin" / "deface"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "deface==1.5.0"], check=True)
    return [str(exe)]


TRANSCODE = """
import sys
from pathlib import Path
from veil.pipeline.config import EncoderConfig
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
with VideoReader(src, max_pixels=1 << 26) as reader:
    with VideoWriter(dst, src, reader.info, EncoderConfig()) as writer:
        for frame in reader:
            writer.write(frame, frame.image)
        writer.commit()
"""


def median(values: list[float]) -> float:
    """Return the median of ``values``."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-deface", action="store_true", help="skip the deface comparison")
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument(
        "--levels",
        default="standard",
        help="privacy levels to time (comma-separated); others than "
        "standard get one row per size, without the transcode, deface and length columns",
    )
    parser.add_argument(
        "--precisions",
        default="float32",
        help="detector precisions to time (comma-separated: float32,int8); int8 needs `veil models quantize`",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every command this many times, interleaved (round 1 runs each once, then round 2…); "
        "the table shows the median",
    )
    parser.add_argument("--no-length", action="store_true", help="skip the twice-as-long clip")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    deface = None if args.no_deface else deface_command()
    levels = [name for name in args.levels.split(",") if name]
    precisions = [name for name in args.precisions.split(",") if name]
    rows = []
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        clip = OUT / f"dashcam_{height}p.mp4"
        frames = make_copy(CLIP, clip, width, height)
        commands: dict[str, list[str]] = {
            "transcode": [sys.executable, "-c", TRANSCODE, str(clip), str(OUT / f"transcode_{height}p.mp4")]
        }
        ffmpeg = ffmpeg_executable()
        if ffmpeg:
            # The same encoder settings as Veil's writer (EncoderConfig: x264 veryfast, crf 20), no audio.
            commands["ffmpeg"] = [
                ffmpeg,
                "-v",
                "error",
                "-y",
                "-threads",
                "0",
                "-i",
                str(clip),
                "-an",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "20",
                str(OUT / f"ffmpeg_{height}p.mp4"),
            ]
        if deface:
            commands["deface"] = [*deface, str(clip), "-o", str(OUT / f"deface_{height}p.mp4")]
        for level in levels:
            for precision in precisions:
                name = f"{level} {precision}"
                out = str(OUT / f"veil_{height}p_{level}_{precision}.mp4")
                commands[name] = [
                    str(VEIL),
                    "anonymize",
                    str(clip),
                    "-o",
                    out,
                    "-q",
                    "--privacy",
                    level,
                    "--precision",
                    precision,
                ]
        timings: dict[str, list[Result]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                timings[name].append(run_measured(command, frames))

        def summary(name: str, timings: dict[str, list[Result]] = timings) -> Result:
            runs = timings[name]
            return Result(median([r.frames_per_s for r in runs]), max(r.peak_rss_mb for r in runs))

        transcode = summary("transcode")
        face = summary("deface") if deface else None
        for level in levels:
            for precision in precisions:
                name = f"{level} {precision}"
                runs = " / ".join(f"{r.frames_per_s:.1f}" for r in timings[name])
                rows.append((f"{height}p {name}", frames, summary(name), transcode, face, runs))
        if not args.no_length:
            long_clip = OUT / f"dashcam_{height}p_x2.mp4"
            long_frames = make_copy(CLIP, long_clip, width, height, repeat=2)
            veil_long = run_measured(
                [str(VEIL), "anonymize", str(long_clip), "-o", str(OUT / f"veil_{height}p_x2.mp4"), "-q"],
                long_frames,
            )
            rows.append((f"{height}p ×2 length", long_frames, veil_long, None, None, ""))
        transcode_runs = " / ".join(f"{r.frames_per_s:.1f}" for r in timings["transcode"])
        print(f"{height}p transcode fps per round: {transcode_runs}")
        if deface:
            print(
                f"{height}p deface fps per round: "
                + " / ".join(f"{r.frames_per_s:.1f}" for r in timings["deface"])
            )

    print(
        f"\n{'clip':<26}{'frames':>7}{'veil fps':>10}{'RSS MB':>8}{'transcode fps':>15}"
        f"{'veil/transcode':>16}{'deface fps':>12}{'veil/deface':>13}   veil fps per round"
    )
    for name, frames, veil, transcode, face, runs in rows:
        line = f"{name:<26}{frames:>7}{veil.frames_per_s:>10.1f}{veil.peak_rss_mb:>8.0f}"
        line += (
            f"{transcode.frames_per_s:>15.1f}{veil.frames_per_s / transcode.frames_per_s:>16.2f}"
            if transcode
            else " " * 31
        )
        line += (
            f"{face.frames_per_s:>12.1f}{veil.frames_per_s / face.frames_per_s:>13.2f}" if face else " " * 25
        )
        print(line + (f"   {runs}" if runs else ""))


if __name__ == "__main__":
    main()
