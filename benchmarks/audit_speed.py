"""How long ``veil audit`` takes on a minute of 720p video (the issue's bar: under 3 minutes on 2 cores).

Builds the clip in a temporary folder: ../shared/data/video/dashcam_highway_640x360.mp4 (414 frames,
30 fps) upscaled to 1280×720 and looped to 1800 frames, encoded with libx264 (veryfast, CRF 20). Then
anonymizes it with Veil at its defaults and audits the output against the original, printing the
time of each step, how many frames were attacked, and the leak figures.

    python benchmarks/audit_speed.py                      # one attack per second (the default)
    python benchmarks/audit_speed.py --interval 0.5       # or any other sampling; 0: every frame
    python benchmarks/audit_speed.py --keep /tmp/audit    # keep the clips and write the report there

Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from veil.api import anonymize_video
from veil.evaluation.audit import audit_paths
from veil.evaluation.audit_html import write_audit_html
from veil.evaluation.audit_options import AuditOptions
from veil.pipeline.config import PipelineConfig
from veil.types import ObjectClass

REPO = Path(__file__).resolve().parents[1]
CLIP = Path("video") / "dashcam_highway_640x360.mp4"
SIZE = (1280, 720)
FRAMES = 1800
FPS = 30


def _default_dir(env: str, name: str) -> Path:
    return Path(os.environ.get(env, REPO.parent / "shared" / name))


def build_clip(source: Path, target: Path) -> None:
    """Write ``FRAMES`` frames of ``source`` upscaled to ``SIZE`` (looping it) into ``target``."""
    with av.open(str(source)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    upscaled = [np.ascontiguousarray(cv2.resize(f, SIZE, interpolation=cv2.INTER_CUBIC)) for f in frames]
    with av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        for index in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(upscaled[index % len(upscaled)], format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def main() -> None:
    """Build the clip, anonymize it, audit it and print the timings."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=_default_dir("VEIL_DATA_DIR", "data"))
    parser.add_argument("--models-dir", type=Path, default=_default_dir("VEIL_MODELS_DIR", "models"))
    parser.add_argument("--interval", type=float, default=AuditOptions().sample_interval_s)
    parser.add_argument(
        "--keep",
        type=Path,
        help="write clips and report here (reused when present) instead of a temporary folder",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="veil-audit-speed-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        original, anonymized = work / "dashcam_720p.mp4", work / "dashcam_720p.veil.mp4"
        if args.keep and original.is_file() and anonymized.is_file():
            print(f"reusing {original} and {anonymized}")
        else:
            started = time.perf_counter()
            build_clip(args.data_dir / CLIP, original)
            print(f"built {FRAMES} frames {SIZE[0]}×{SIZE[1]} in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            run = anonymize_video(original, anonymized, PipelineConfig(models_dir=args.models_dir))
            took = time.perf_counter() - started
            print(f"veil anonymize (defaults): {took:.1f} s, {run.frames_per_s:.1f} fps")

        options = AuditOptions(models_dir=args.models_dir, sample_interval_s=args.interval)
        started = time.perf_counter()
        report = audit_paths(anonymized, original, options)
        audit_s = time.perf_counter() - started
        attacked = sum(f.attacked for f in report.files)
        compared = sum(f.frames for f in report.files)
        print(
            f"veil audit: {audit_s:.1f} s for {compared} frames compared, {attacked} attacked "
            f"(every {args.interval:g} s); {audit_s / max(1, attacked):.2f} s per attacked frame"
        )
        verdict = "PASS" if audit_s < 180 else "FAIL"
        print(f"bar (audit of 1 min of 720p under 180 s): {verdict}")
        summary = {
            c.value: report.summary(c).to_dict() for c in report.classes() if c is not ObjectClass.PERSON
        }
        print(
            json.dumps(
                {"leak_rate": report.leak_rate(), "classes": summary, "persons": report.persons().to_dict()}
            )
        )
        print(f"review ranges: {len(report.review())}")
        if args.keep:
            write_audit_html(report, work / "audit.html")
            (work / "audit.json").write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
            print(f"report in {work}")


if __name__ == "__main__":
    main()
