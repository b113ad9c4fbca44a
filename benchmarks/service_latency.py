"""Service figures: p50/p95 latency of POST /v1/images:anonymize on a 1080p photo, and jobs per minute for
10-second 720p clips with 2 workers. Real models (VEIL_MODELS_DIR), `veil serve` on loopback.

    python benchmarks/service_latency.py [--requests 20] [--jobs 4] [--photo PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import httpx2
import numpy as np
from PIL import Image as PILImage

VEIL = Path(sys.executable).with_name("veil")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _photo_1080p(path: Path | None) -> bytes:
    source = (
        path
        or sorted(
            (Path(os.environ.get("VEIL_DATA_DIR", SHARED)) / "faces" / "dlib_pascal_voc").glob("*.jpg")
        )[0]
    )
    image = PILImage.open(source).convert("RGB").resize((1920, 1080))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _clip_720p(path: Path, seconds: int = 10, fps: int = 25) -> None:
    rng = np.random.default_rng(0)
    background = rng.integers(40, 200, (720, 1280, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for index in range(seconds * fps):
            frame = background.copy()
            x = (index * 8) % 1100
            frame[300:420, x : x + 160] = 230
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--photo", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="veil-bench-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(VEIL),
            "serve",
            "--data-dir",
            str(work / "data"),
            "--port",
            str(port),
            "--insecure",
            "--workers",
            "2",
            "--rate-per-minute",
            "100000",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        key = subprocess.run(
            [str(VEIL), "keys", "create", "--name", "bench", "--data-dir", str(work / "data")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {key}"}
        for _ in range(120):
            try:
                if httpx2.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.5)
        photo = _photo_1080p(args.photo)
        with httpx2.Client(base_url=url, headers=headers, timeout=300) as client:
            client.post(
                "/v1/images:anonymize", files={"file": ("warm.jpg", photo)}
            ).raise_for_status()  # load models
            latencies = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.post("/v1/images:anonymize", files={"file": ("photo.jpg", photo)}).raise_for_status()
                latencies.append(time.perf_counter() - started)
            cuts = statistics.quantiles(latencies, n=20)
            print(
                f"POST /v1/images:anonymize 1920x1080 JPEG, {args.requests} requests: "
                f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {cuts[18] * 1000:.0f} ms"
            )
            clip = work / "clip720p.mp4"
            _clip_720p(clip)
            started = time.perf_counter()
            ids = []
            for _ in range(args.jobs):
                with clip.open("rb") as handle:
                    response = client.post(
                        "/v1/jobs", files={"file": ("clip.mp4", handle)}, data={"operation": "object-mask"}
                    )
                response.raise_for_status()
                ids.append(response.json()["id"])
            pending = set(ids)
            while pending:
                for job_id in list(pending):
                    state = client.get(f"/v1/jobs/{job_id}").json()["state"]
                    if state in {"succeeded", "failed"}:
                        assert state == "succeeded", client.get(f"/v1/jobs/{job_id}").json()
                        pending.discard(job_id)
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            print(
                f"10 s 1280x720 clips (250 frames), 2 workers, {args.jobs} jobs: {elapsed:.1f} s, "
                f"{args.jobs / elapsed * 60:.2f} jobs/min"
            )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
