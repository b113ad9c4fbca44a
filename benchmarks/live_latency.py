"""Added latency of ``veil stream`` at 720p30, forward-only, standard privacy, on loopback.

A sender process plays the dashcam clip, upscaled to 1280×720, as a real-time MPEG-TS stream over TCP to
127.0.0.1 (its own process, as a camera would be). Like a camera, whose encoder is its own chip, it sends
packets encoded beforehand (zerolatency H.264, written once to bench_out/) instead of encoding on the
cores Veil is measured on; ``--sender-encodes`` makes it encode live instead, as before. Veil reads it,
anonymizes it (standard level, lookahead 0) and sends MPEG-TS over UDP to a receiver thread. Printed:

- Veil's added latency per frame: from the packet carrying the raw frame leaving Veil's demuxer to the
  anonymized frame's packet entering the output socket (p50 / p95 / max), and the frames dropped to
  keep the budget;
- an outside check: sender → receiver latency through Veil minus the same path without Veil (median).

    python benchmarks/live_latency.py                 # needs VEIL_DATA_DIR / VEIL_MODELS_DIR or ../shared
    python benchmarks/live_latency.py --frames 150 --budget-ms 150
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import av.error

from veil.api import LiveReport, LiveSettings, PrivacyLevel, open_pipeline, preset_for
from veil.pipeline.config import DetectionConfig, EncoderConfig, PipelineConfig
from veil.types import Image

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VEIL_DATA_DIR", REPO.parent / "shared" / "data"))
MODELS = Path(os.environ.get("VEIL_MODELS_DIR", REPO.parent / "shared" / "models"))
CLIP = DATA / "video" / "dashcam_highway_640x360.mp4"
SIZE = (1280, 720)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """Return a port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Receiver:
    """Read an MPEG-TS stream on a thread; record when each frame (by seconds from the first) arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received_s: dict[float, float] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join(60)

    def _run(self) -> None:
        try:
            opts = {"probesize": "500000", "analyzeduration": "500000"}
            with av.open(self.url, "r", options=opts, timeout=(30, 3)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "SLICE"
                first = None
                for packet in container.demux(stream):
                    now = time.monotonic()
                    for frame in packet.decode():
                        if frame.pts is None or frame.time_base is None:
                            continue
                        first = frame.pts if first is None else first
                        offset = float((frame.pts - first) * frame.time_base)
                        self.received_s[round(offset, 6)] = now
        except av.error.ExitError:
            pass  # the read timed out: the stream is over
        except BaseException as exc:
            self.error = exc


# Runs StreamSender in a child process; CLOCK_MONOTONIC is shared by all processes, so its send times
# compare with the receiver's.
_SENDER = """
import json, sys
from pathlib import Path
from veil.live.loopback import StreamSender
clip, url, width, height, frames, copy, out = sys.argv[1:]
size = None if copy == "1" else (int(width), int(height))
sender = StreamSender(Path(clip), url, size=size, max_frames=int(frames), copy=copy == "1")
sender.start().join()
Path(out).write_text(json.dumps(sender.sent_s))
"""


def camera_stream() -> Path:
    """Return the clip at 720p encoded as a camera sends it (zerolatency H.264 in MPEG-TS), made once."""
    from veil.live.loopback import StreamSender

    path = REPO / "bench_out" / f"{CLIP.stem}_{SIZE[1]}p_camera.ts"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        partial = path.with_name(f".{path.name}.partial.ts")
        StreamSender(CLIP, str(partial), size=SIZE, realtime=False).start().join()
        partial.replace(path)
    return path


class SenderProcess:
    """StreamSender in its own process; :meth:`join` returns its send times (seconds from the first frame).

    ``encode``: encode the upscaled clip live; else send the pre-encoded :func:`camera_stream`.
    """

    def __init__(self, url: str, frames: int, encode: bool) -> None:
        self._out = Path(tempfile.mkstemp(suffix=".json")[1])
        source = CLIP if encode else camera_stream()
        copy = "0" if encode else "1"
        args = [str(source), url, str(SIZE[0]), str(SIZE[1]), str(frames), copy, str(self._out)]
        self._proc = subprocess.Popen([sys.executable, "-c", _SENDER, *args])

    def join(self) -> dict[float, float]:
        if self._proc.wait(timeout=600) != 0:
            raise SystemExit(f"the sender failed (exit {self._proc.returncode})")
        sent = {float(k): v for k, v in json.loads(self._out.read_text()).items()}
        self._out.unlink()
        return sent


def end_to_end_ms(sent: dict[float, float], received: dict[float, float]) -> list[float]:
    """Return receive − send times in ms for frames both sides saw."""
    return [(received[k] - sent[k]) * 1000 for k in sorted(sent) if k in received]


def direct_path(frames: int, encode: bool) -> list[float]:
    """Sender → receiver over loopback without Veil: the transport's own latency."""
    port = free_port(socket.SOCK_DGRAM)
    receiver = Receiver(f"udp://127.0.0.1:{port}").start()
    time.sleep(0.5)  # let the receiver bind
    sent = SenderProcess(f"udp://127.0.0.1:{port}?pkt_size=1316", frames, encode).join()
    receiver.join()
    return end_to_end_ms(sent, receiver.received_s)


def through_veil(frames: int, budget_ms: float, preset: str, encode: bool) -> tuple[LiveReport, list[float]]:
    """Sender → Veil → receiver; return Veil's report and the end-to-end latencies."""
    level = preset_for(PrivacyLevel.STANDARD)
    config = PipelineConfig(
        policy=level.policy(),
        temporal=level.temporal,
        detection=DetectionConfig(detect_long_side_px=level.detect_long_side_px),
        encoder=EncoderConfig(preset=preset),
        models_dir=MODELS,
    )
    in_port, out_port = free_port(), free_port(socket.SOCK_DGRAM)
    receiver = Receiver(f"udp://127.0.0.1:{out_port}").start()
    settings = LiveSettings(latency_budget_ms=budget_ms, open_timeout_s=30)
    with open_pipeline(config) as pipeline:
        pipeline.detect(next_frame())  # load the models before the stream starts, as a service would
        sender = SenderProcess(f"tcp://127.0.0.1:{in_port}", frames, encode)
        report = pipeline.stream(
            f"tcp://127.0.0.1:{in_port}?listen=1", f"udp://127.0.0.1:{out_port}?pkt_size=1316", settings
        )
    sent = sender.join()
    receiver.join()
    return report, end_to_end_ms(sent, receiver.received_s)


def next_frame() -> Image:
    """Return one 720p frame of the clip, for loading the models."""
    import cv2
    import numpy as np

    with av.open(str(CLIP)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return np.ascontiguousarray(cv2.resize(frame, SIZE), np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames to stream (30 per second)")
    parser.add_argument("--budget-ms", type=float, default=150.0, help="latency budget")
    parser.add_argument("--preset", default="veryfast", help="x264 preset of Veil's output (CLI default)")
    parser.add_argument(
        "--sender-encodes", action="store_true", help="the sender encodes live, on the same cores as Veil"
    )
    args = parser.parse_args()
    sender = "encoding live" if args.sender_encodes else "sending pre-encoded packets"
    print(
        f"{CLIP.name} upscaled to {SIZE[0]}x{SIZE[1]} at 30 fps, {args.frames} frames, loopback, sender "
        f"{sender}; "
        f"x264 {args.preset}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared: noisy)"
    )
    report, veil_e2e = through_veil(args.frames, args.budget_ms, args.preset, args.sender_encodes)
    lat = report.latency
    print(
        f"veil added latency (demuxer out -> socket in): p50 {lat.percentile(50):.1f} ms, "
        f"p95 {lat.percentile(95):.1f} ms, max {lat.max_ms:.1f} ms over {lat.count} frames"
    )
    print(
        f"frames read {report.frames_read}, dropped {report.frames_dropped}, "
        f"written {report.frames_written}, late (> {args.budget_ms:.0f} ms) {report.frames_late}; "
        f"detected {report.frames_detected}, "
        f"propagated {report.frames_propagated}"
    )
    direct = direct_path(args.frames, args.sender_encodes)
    if veil_e2e and direct:
        veil_med, direct_med = statistics.median(veil_e2e), statistics.median(direct)
        print(
            f"outside check: sender->receiver median {veil_med:.1f} ms through veil, {direct_med:.1f} ms "
            f"direct: {veil_med - direct_med:.1f} ms added (includes a second MPEG-TS demux hop)"
        )


if __name__ == "__main__":
    main()
