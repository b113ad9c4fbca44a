"""How `veil batch` scales: 1 vs 2 single-core workers on a multi-video batch, and what a segment costs.

Prints figures, asserts nothing. Three parts:

1. Throughput: the same batch (copies of the shared dashcam clip, each split into segments) through
   ``veil batch`` with 1 worker pinned to one core (``taskset -c 0``) and 2 workers on two cores
   (``taskset -c 0,1``), ONNX Runtime at one thread per worker, for each engine asked for.
2. Per-segment overhead, measured apart: indexing a video's packets, planning, a segment's extra
   context frames (decoded and run through the engine, not written), joining the parts by packet copy,
   verifying outputs, and on Ray the round trip of a task to an actor that keeps its models.
3. The figures a cost model needs, as one JSON line (``--json``).

Usage::

    python benchmarks/batch_scaling.py [--copies 4] [--segment 5] [--engines local,ray] [--json]

Other machines' loads make the figures vary: run it on an idle machine, and note the load when not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_DATA_DIR", REPO.parent / "shared" / "data"))
CLIP = DATA / "video" / "dashcam_highway_640x360.mp4"
VEIL = Path(sys.executable).parent / "veil"


def _batch(sources: list[Path], out: Path, cores: str, workers: int, engine: str, segment_s: float) -> float:
    """Run ``veil batch`` pinned to ``cores`` and return its wall time in seconds."""
    command = [
        "taskset", "-c", cores, str(VEIL), "batch", *map(str, sources), "-o", str(out), "-q",
        "--workers", str(workers), "--engine", engine, "--segment", str(segment_s), "--threads", "1",
        "--targets", "face,plate",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - started


def _frames(path: Path) -> int:
    from veil.batch.segments import index_video

    index = index_video(path)
    assert index is not None
    return index.frame_count


def throughput(copies: int, segment_s: float, engines: list[str], work: Path) -> dict[str, Any]:
    """Frames per second of 1 and 2 pinned workers over ``copies`` copies of the clip, per engine."""
    sources = []
    for i in range(copies):
        target = work / "in" / f"clip{i}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CLIP, target)
        sources.append(target)
    frames = copies * _frames(CLIP)
    figures: dict[str, Any] = {"frames": frames, "copies": copies, "segment_s": segment_s}
    for engine in engines:
        for workers, cores in ((1, "0"), (2, "0,1")):
            out = work / f"out-{engine}-{workers}"
            seconds = _batch(sources, out, cores, workers, engine, segment_s)
            figures[f"{engine}_{workers}_s"] = round(seconds, 2)
            figures[f"{engine}_{workers}_fps"] = round(frames / seconds, 2)
            fps = frames / seconds
            print(f"{engine:5} {workers} worker(s) on cores {cores}: {seconds:6.1f} s, {fps:5.1f} fps")
        speedup = figures[f"{engine}_1_s"] / figures[f"{engine}_2_s"]
        figures[f"{engine}_speedup"] = round(speedup, 2)
        print(f"{engine:5} speed-up 1 → 2 workers: {speedup:.2f}×")
    return figures


def overhead(segment_s: float, work: Path) -> dict[str, Any]:
    """Time each per-segment cost apart, on one core."""
    from veil.batch.join import join_segments, verify_video
    from veil.batch.segments import context_frames, index_video, plan_segments
    from veil.batch.work import TIME_TOLERANCE_S, BatchWorker, Unit
    from veil.pipeline.config import PipelineConfig, RunOptions
    from veil.video.output_plan import plan_output

    os.sched_setaffinity(0, {0})
    config = PipelineConfig()
    started = time.perf_counter()
    index = index_video(CLIP)
    index_s = time.perf_counter() - started
    assert index is not None
    temporal = config.temporal
    before, after = context_frames(temporal.lookahead_frames, temporal.hold_frames, temporal.detect_every)
    segments = plan_segments(index, segment_s, before=before, after=after, detect_every=temporal.detect_every)
    assert segments is not None, "the clip is too short for this --segment"
    worker = BatchWorker(config)
    work.mkdir(parents=True, exist_ok=True)
    # Models load on a worker's first unit, once per worker: not a cost of any one segment.
    warm = plan_segments(index, 1.0, before=0, after=0, detect_every=1)
    assert warm is not None
    assert (
        worker.run(Unit(0, CLIP, work / "warm.mp4", RunOptions(), segment=warm[0], index=index)).error is None
    )
    parts = work / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    unit_s = []
    for segment in segments:
        unit = Unit(1, CLIP, parts / f"{segment.number:05d}.mp4", RunOptions(), segment=segment, index=index)
        started = time.perf_counter()
        result = worker.run(unit)
        unit_s.append(time.perf_counter() - started)
        assert result.error is None, result.error
    started = time.perf_counter()
    whole = worker.run(Unit(2, CLIP, work / "whole.mp4", RunOptions(), index=index))
    whole_s = time.perf_counter() - started
    assert whole.error is None, whole.error
    plan = plan_output(work / "joined.mp4", CLIP, config.encoder)
    started = time.perf_counter()
    join_segments(
        [parts / f"{s.number:05d}.mp4" for s in segments],
        work / "joined.mp4",
        CLIP,
        plan,
        strip_location=True,
        rotation_deg=0,
    )
    join_s = time.perf_counter() - started
    started = time.perf_counter()
    verify_video(work / "joined.mp4", index.times(), tolerance_s=TIME_TOLERANCE_S)
    verify_s = time.perf_counter() - started
    context = sum(s.context_end - s.context_start - s.frames for s in segments)
    figures = {
        "video_frames": index.frame_count,
        "segments": len(segments),
        "index_s": round(index_s, 4),
        "segments_sum_s": round(sum(unit_s), 2),
        "whole_s": round(whole_s, 2),
        "context_frames": context,
        "join_s": round(join_s, 4),
        "verify_s": round(verify_s, 4),
        "overhead_per_segment_s": round((sum(unit_s) + join_s - whole_s) / len(segments), 3),
    }
    print(
        f"one core, {index.frame_count} frames: whole {whole_s:.1f} s; {len(segments)} segments "
        f"{sum(unit_s):.1f} s ({context} context frames), join {join_s * 1000:.0f} ms, "
        f"verify {verify_s * 1000:.0f} ms, index {index_s * 1000:.0f} ms → "
        f"{figures['overhead_per_segment_s']:.2f} s per segment"
    )
    return figures


def ray_round_trip() -> dict[str, Any]:
    """Ray's start-up, an actor's start with a loaded worker, and a task's round trip to it."""
    import ray

    from veil.batch.work import BatchWorker
    from veil.pipeline.config import PipelineConfig

    started = time.perf_counter()
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - started
    try:
        started = time.perf_counter()
        actor = ray.remote(num_cpus=1)(BatchWorker).remote(PipelineConfig())
        ray.get(actor.__ray_ready__.remote())
        actor_s = time.perf_counter() - started
        trips = []
        for _ in range(20):
            started = time.perf_counter()
            ray.get(actor.__ray_ready__.remote())
            trips.append(time.perf_counter() - started)
    finally:
        ray.shutdown()
    trip_s = sorted(trips)[len(trips) // 2]
    print(f"ray: init {init_s:.1f} s, actor {actor_s:.1f} s, task round trip {trip_s * 1000:.1f} ms (median)")
    return {"ray_init_s": round(init_s, 2), "ray_actor_s": round(actor_s, 2), "ray_task_s": round(trip_s, 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of the dashcam clip in the batch")
    parser.add_argument("--segment", type=float, default=5.0, help="veil batch --segment")
    parser.add_argument("--engines", default="local,ray", help="engines to time, comma-separated")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.2f} at the start")
    with tempfile.TemporaryDirectory(prefix="veil-batch-bench-") as tmp:
        work = Path(tmp)
        figures: dict[str, Any] = {"load_start": round(load, 2)}
        if not args.skip_throughput:
            figures |= throughput(args.copies, args.segment, args.engines.split(","), work / "tp")
        figures |= overhead(args.segment, work / "oh")
        if "ray" in args.engines:
            figures |= ray_round_trip()
    figures["load_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
