"""Speed of the learned obfuscator: the network per 720p frame, and a 720p file against a transcode.

Prints (1) the network's time per 1280×720 frame in ONNX Runtime on one thread (as Veil's sessions
run), alone and with the uint8 ↔ float conversion and padding of ``ObfuscatorModel.apply``, and
(2) ``veil anonymize --method obfuscator`` on a 720p clip against a transcode-only pass through the
same reader and writer (same encoder, same settings), in frames per second.

    python benchmarks/obfuscator_speed.py                      # an untrained O: the same cost
    python benchmarks/obfuscator_speed.py --model obfuscator.onnx

The 720p clip is the shared dashcam clip scaled up, written to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from veil.api import anonymize_path
from veil.obfuscation.apply import ObfuscatorModel
from veil.pipeline.config import EncoderConfig, PipelineConfig, RunOptions
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

_REPO = Path(__file__).resolve().parents[1]
_DATA = Path(os.environ.get("VEIL_DATA_DIR", _REPO.parent / "shared" / "data"))
_CLIP = _DATA / "video" / "dashcam_highway_640x360.mp4"


def _untrained(path: Path) -> Path:
    import torch

    from veil.obfuscation.export import export_onnx
    from veil.obfuscation.network import Obfuscator

    torch.manual_seed(0)
    export_onnx(Obfuscator(), path)
    return path


def _make_720p(dst: Path, frames: int) -> Path:
    with av.open(str(_CLIP)) as src, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for index, frame in enumerate(src.decode(video=0)):
            if index == frames:
                break
            image = cv2.resize(frame.to_ndarray(format="rgb24"), (1280, 720), interpolation=cv2.INTER_LINEAR)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return dst


def _network_ms(model: ObfuscatorModel, repeats: int) -> tuple[float, float, float]:
    session = model._session  # the bare network, without apply's conversion
    batch = np.random.default_rng(0).random((1, 3, 720, 1280), dtype=np.float32)
    image = (batch[0].transpose(1, 2, 0) * 255).astype(np.uint8)
    name = session.get_inputs()[0].name
    for _ in range(3):
        session.run(None, {name: batch})
    # CPU time of this process: on one thread it is the frame's cost whatever else the cores run
    # (wall time is printed beside it, with the load average, to show how busy they were).
    bare, applied, wall = [], [], []
    for _ in range(repeats):
        start, start_wall = time.process_time(), time.perf_counter()
        session.run(None, {name: batch})
        bare.append(time.process_time() - start)
        wall.append(time.perf_counter() - start_wall)
        start = time.process_time()
        model.apply(image)
        applied.append(time.process_time() - start)
    return 1000 * statistics.median(bare), 1000 * statistics.median(applied), 1000 * statistics.median(wall)


def _transcode(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with VideoReader(src, max_pixels=8192 * 8192) as reader:
        info = reader.info
        with VideoWriter(dst, src, info, EncoderConfig()) as writer:
            for frame in reader:
                writer.write(frame, frame.image)
            writer.commit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="an obfuscator ONNX file (default: an untrained O)")
    parser.add_argument("--frames", type=int, default=150, help="frames of the 720p clip")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = args.model or _untrained(tmp / "untrained.onnx")
        model = ObfuscatorModel(path)
        print(
            f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
        )
        bare_ms, apply_ms, wall_ms = _network_ms(model, args.repeats)
        print(
            f"network, 1280×720, ONNX Runtime, 1 thread: {bare_ms:.1f} ms CPU per frame "
            f"({wall_ms:.1f} ms wall; medians of {args.repeats})"
        )
        print(f"with apply()'s conversion and padding: {apply_ms:.1f} ms CPU per frame")
        clip = _make_720p(tmp / "clip720.mp4", args.frames)
        transcode_s = _transcode(clip, tmp / "transcoded.mp4")
        config = PipelineConfig(obfuscator=path)
        start = time.perf_counter()
        report = anonymize_path(clip, tmp / "obfuscated.mp4", config, RunOptions())
        obfuscate_s = time.perf_counter() - start
        n = report.frames_written
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(
            f"720p file, {n} frames: transcode only {n / transcode_s:.1f} fps, "
            f"--method obfuscator {n / obfuscate_s:.1f} fps ({transcode_s / obfuscate_s:.2f}x the transcode)"
        )


if __name__ == "__main__":
    main()
