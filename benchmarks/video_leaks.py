"""Leak rate and speed of ``veil anonymize`` on real video, per privacy level (and deface, optionally).

Reference: on every frame of the original, YuNet and CenterFace at 1× and 2× (the attack of
:class:`veil.evaluation.face_attack.FaceReDetector`) find the faces. A reference face has leaked when
either detector, at either scale, still finds it at the same place on the anonymized frame. Also
checks, from the detections JSON, that no track is hidden on the frames around one it is missing from
(a single-frame gap).

    python benchmarks/video_leaks.py                         # MOT20-08, all levels
    python benchmarks/video_leaks.py --clips all --deface    # every shared clip, and deface beside
    python benchmarks/video_leaks.py --precision float32,int8  # float beside the int8 detectors
                                                             # (`veil models quantize` first)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from veil.evaluation.face_attack import FaceReDetector
from veil.pipeline.privacy_level import PrivacyLevel
from veil.video.reader import VideoReader

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench_out" / "leaks"
DATA = Path(os.environ.get("VEIL_DATA_DIR", REPO.parent / "shared" / "data"))
CLIPS = {
    "mot20": DATA / "video" / "MOT20-08-raw_shorter.h264",
    "pets": DATA / "video" / "vtest_pets_480x360.avi",
    "dashcam": DATA / "video" / "dashcam_highway_640x360.mp4",
}
VEIL = Path(sys.executable).parent / "veil"
Boxes = npt.NDArray[np.float32]


@dataclass
class Row:
    clip: str
    method: str
    frames_per_s: float
    reference_faces: int
    leaked: int
    single_frame_gaps: int | None

    @property
    def leak_rate(self) -> float:
        return self.leaked / self.reference_faces if self.reference_faces else 0.0


def reference_faces(clip: Path, attacker: FaceReDetector) -> list[Boxes]:
    """Return the faces found on every frame of the original ``clip`` (cached in bench_out)."""
    cache = OUT / f"{clip.stem}.reference.npz"
    if cache.exists() and cache.stat().st_mtime > clip.stat().st_mtime:
        with np.load(cache) as saved:
            return [saved[f"frame_{i}"] for i in range(len(saved.files))]
    with VideoReader(clip, max_pixels=1 << 26) as reader:
        found = [attacker.find(frame.image) for frame in reader]
    np.savez_compressed(cache, **{f"frame_{i}": boxes for i, boxes in enumerate(found)})
    return found


def leaked_faces(output: Path, reference: list[Boxes], attacker: FaceReDetector) -> int:
    """Return how many reference faces the attack still finds on ``output``."""
    leaked = 0
    with VideoReader(output, max_pixels=1 << 26) as reader:
        frames = 0
        for frame, truth in zip(reader, reference, strict=False):
            frames += 1
            if len(truth):
                leaked += sum(attacker.refound(frame.image, truth))
    if frames != len(reference):
        raise SystemExit(f"{output} has {frames} frames, the original {len(reference)}")
    return leaked


def single_frame_gaps(detections_json: Path) -> int:
    """Count (track, frame) where a track is hidden on the frames before and after but not on it."""
    frames: dict[int, set[int]] = defaultdict(set)
    for entry in json.loads(detections_json.read_text())["frames"]:
        for region in entry["regions"]:
            if region.get("track_id", -1) >= 0:
                frames[region["track_id"]].add(entry["index"])
    return sum(1 for seen in frames.values() for i in seen if i + 2 in seen and i + 1 not in seen)


def as_mp4(clip: Path, dst: Path) -> Path:
    """Return ``clip`` re-encoded near-losslessly into MP4: deface does not open raw ``.h264`` streams."""
    with VideoReader(clip, max_pixels=1 << 26) as reader, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=reader.info.frame_rate)
        stream.width, stream.height, stream.pix_fmt = reader.info.width, reader.info.height, "yuv420p"
        stream.options = {"crf": "8", "preset": "veryfast"}
        for index, frame in enumerate(reader):
            picture = av.VideoFrame.from_ndarray(frame.image, format="rgb24")
            picture.pts = index
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return dst


def run_timed(cmd: list[str], frames: int) -> float:
    """Run ``cmd`` and return frames per second of wall time."""
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", default="mot20", help=f"comma-separated of {', '.join(CLIPS)}, or all")
    parser.add_argument("--levels", default=",".join(level.value for level in PrivacyLevel))
    parser.add_argument("--deface", action="store_true", help="also measure deface (bench_out/deface-venv)")
    parser.add_argument("--precision", default="float32", help="comma-separated of float32, int8")
    args = parser.parse_args()
    names = list(CLIPS) if args.clips == "all" else args.clips.split(",")
    OUT.mkdir(parents=True, exist_ok=True)
    attacker = FaceReDetector()
    rows: list[Row] = []
    for name in names:
        clip = CLIPS[name]
        reference = reference_faces(clip, attacker)
        total = sum(len(r) for r in reference)
        print(f"{name}: {len(reference)} frames, {total} reference faces", flush=True)
        for level in args.levels.split(","):
            for precision in args.precision.split(","):
                method = level if precision == "float32" else f"{level} {precision}"
                out = OUT / f"{name}_{level}_{precision}.mp4"
                cmd = [str(VEIL), "anonymize", str(clip), "-o", str(out), "--privacy", level]
                fps = run_timed([*cmd, "--precision", precision, "--detections", "-q"], len(reference))
                gaps = single_frame_gaps(OUT / f"{clip.stem}.detections.json")
                rows.append(Row(name, method, fps, total, leaked_faces(out, reference, attacker), gaps))
                print(f"  {method}: {rows[-1].leak_rate:.1%} leaked, {fps:.1f} frames/s", flush=True)
        if args.deface:
            deface = REPO / "bench_out" / "deface-venv" / "bin" / "deface"
            out = OUT / f"{name}_deface.mp4"
            readable = clip if clip.suffix != ".h264" else as_mp4(clip, OUT / f"{clip.stem}.mp4")
            fps = run_timed([str(deface), str(readable), "-o", str(out)], len(reference))
            rows.append(Row(name, "deface 1.5", fps, total, leaked_faces(out, reference, attacker), None))
    print(
        f"\n{'clip':<9}{'method':<16}{'frames/s':>9}{'faces':>7}{'leaked':>8}"
        f"{'leak rate':>11}{'1-frame gaps':>14}"
    )
    for row in rows:
        gaps = "-" if row.single_frame_gaps is None else str(row.single_frame_gaps)
        print(
            f"{row.clip:<9}{row.method:<16}{row.frames_per_s:>9.1f}{row.reference_faces:>7}"
            f"{row.leaked:>8}{row.leak_rate:>11.1%}{gaps:>14}"
        )


if __name__ == "__main__":
    main()
