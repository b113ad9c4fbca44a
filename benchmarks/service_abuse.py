"""Service under an unauthenticated flood: latency of normal requests, server memory and database growth.

Starts `veil serve` on 127.0.0.1 (plain HTTP, the fake pipeline), measures normal requests (a job poll and
a small image) idle, then again while 200 requests with a wrong secret on a real key id and 200 requests
with a 60 KB path and a bad key arrive, 40 at a time. Every count is bounded; the server is stopped at the
end. Targets: normal p95 under attack within 2x of idle, memory growth < 100 MB, database growth < 1 MB.

    python benchmarks/service_abuse.py [--bad-keys 200] [--long-paths 200] [--at-once 40]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import numpy as np
from PIL import Image as PILImage

VEIL = Path(sys.executable).with_name("veil")
HOST = "127.0.0.1"  # loopback only: this sends a flood
_SCOPE = ("--scope", "submit,read", "--tenant")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes, in MB."""
    total = 0
    for each in (pid, *_children(pid)):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _db_bytes(data_dir: Path) -> int:
    """Size of the database once its write-ahead log is folded in (the log's own size goes up and down)."""
    with sqlite3.connect(data_dir / "veil.sqlite3", timeout=30) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    return int(pages * page_size)


def _png(width: int = 320, height: int = 240) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(3)
    PILImage.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _key(data_dir: Path, tenant: str) -> str:
    out = subprocess.run(
        [str(VEIL), "keys", "create", "--data-dir", str(data_dir), "--name", tenant, *_SCOPE, tenant],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


class Normal:
    """A client doing normal work: poll a job, anonymize a small image; records latencies in ms."""

    def __init__(self, url: str, token: str, job_id: str) -> None:
        self._client = httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self._job_id = job_id
        self._png = _png()
        self.polls: list[float] = []
        self.images: list[float] = []

    def once(self) -> None:
        started = time.perf_counter()
        assert self._client.get(f"/v1/jobs/{self._job_id}").status_code == 200
        self.polls.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        files = {"file": ("p.png", self._png, "image/png")}
        assert self._client.post("/v1/images:anonymize", files=files).status_code == 200
        self.images.append((time.perf_counter() - started) * 1000)

    def close(self) -> None:
        self._client.close()


def _exchange(sock: socket.socket, reader: io.BufferedReader, request: bytes) -> int:
    sock.sendall(request)
    status = int(reader.readline().split()[1])
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    reader.read(length)
    return status


def _flood(port: int, requests: list[tuple[str, str]], at_once: int) -> dict[int, int]:
    """Send ``requests`` over ``at_once`` kept-alive connections; return the count of each status.

    Raw sockets and prepared bytes: an attacker's requests cost it next to nothing, and on a shared
    machine a heavy client would slow the server by taking its CPU rather than by what it sends.
    """
    codes: dict[int, int] = {}
    lock = threading.Lock()
    prepared = [
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        for path, token in requests
    ]

    def connection(share: list[bytes]) -> None:
        sock = socket.create_connection((HOST, port), timeout=60)
        reader = sock.makefile("rb")
        try:
            for request in share:
                try:
                    code = _exchange(sock, reader, request)
                except (OSError, IndexError, ValueError):
                    reader.close()
                    sock.close()
                    sock = socket.create_connection((HOST, port), timeout=60)
                    reader = sock.makefile("rb")
                    code = -1
                with lock:
                    codes[code] = codes.get(code, 0) + 1
        finally:
            reader.close()
            sock.close()

    threads = [threading.Thread(target=connection, args=(prepared[i::at_once],)) for i in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bad-keys", type=int, default=200)
    parser.add_argument("--long-paths", type=int, default=200)
    parser.add_argument("--at-once", type=int, default=40)
    parser.add_argument("--idle-requests", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="veil-abuse-"))
    data_dir, port = work / "data", _free_port()
    url = f"http://{HOST}:{port}"
    command = [str(VEIL), "serve", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)]
    command += ["--insecure", "--workers", "1", "--pipeline-factory", "veil.service.fakes:fake_pipeline"]
    command += ["--rate-per-minute", "100000"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("veil serve did not start")
            time.sleep(0.2)
        token = _key(data_dir, "acme")
        files = {"file": ("p.png", _png(), "image/png")}
        job = httpx2.post(
            f"{url}/v1/jobs",
            headers={"Authorization": f"Bearer {token}"},
            files=files,
            data={"operation": "object-mask"},
            timeout=30,
        ).json()
        normal = Normal(url, token, job["id"])
        for _ in range(5):  # warm: the key's one scrypt run, the image pipeline's first load
            normal.once()
        normal.polls.clear()
        normal.images.clear()
        for _ in range(args.idle_requests):
            normal.once()
        idle_poll, idle_image = _percentiles(normal.polls), _percentiles(normal.images)
        normal.polls.clear()
        normal.images.clear()
        rss_before, db_before = _rss_mb(server.pid), _db_bytes(data_dir)

        key_id = token.split("_")[1]
        attack = [("/v1/jobs", f"veil_{key_id}_{'x' * 43}")] * args.bad_keys
        attack += [("/v1/jobs/" + "a" * 60_000, "veil_0123456789ab_wrong")] * args.long_paths
        peak = [rss_before]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], _rss_mb(server.pid))

        def keep_working() -> None:
            while not done.is_set():
                normal.once()

        watcher, worker = threading.Thread(target=watch), threading.Thread(target=keep_working)
        watcher.start()
        worker.start()
        # The flood runs in a process of its own: its threads must not slow the normal client's.
        with multiprocessing.get_context("spawn").Pool(1) as flooder:
            started = time.perf_counter()
            codes = flooder.apply_async(_flood, (port, attack, args.at_once)).get(timeout=600)
            attack_s = time.perf_counter() - started
        done.set()
        worker.join()
        watcher.join()
        time.sleep(1.0)
        rss_after = _rss_mb(server.pid)
        busy_poll, busy_image = _percentiles(normal.polls), _percentiles(normal.images)
        normal.close()
    finally:
        server.terminate()
        server.wait(30)
    db_growth = _db_bytes(data_dir) - db_before  # after shutdown: the last counted repeats are written

    print(f"flood: {args.bad_keys} wrong secrets on a real key id + {args.long_paths} 60 KB paths, bad key,")
    print(f"       {args.at_once} at a time, {attack_s:.1f} s; answers {dict(sorted(codes.items()))}")
    print(
        f"normal poll  p50/p95 idle {idle_poll[0]:6.1f} / {idle_poll[1]:6.1f} ms,"
        f" under flood {busy_poll[0]:6.1f} / {busy_poll[1]:6.1f} ms ({len(normal.polls)} requests)"
    )
    print(
        f"normal image p50/p95 idle {idle_image[0]:6.1f} / {idle_image[1]:6.1f} ms,"
        f" under flood {busy_image[0]:6.1f} / {busy_image[1]:6.1f} ms"
    )
    print(
        f"memory (server + worker) {rss_before:.0f} MB before, {peak[0]:.0f} MB peak, {rss_after:.0f} after"
    )
    print(f"database growth {db_growth / 1024:.1f} KiB")
    checks = {
        "normal poll p95 within 2x of idle": busy_poll[1] <= 2 * idle_poll[1],
        "normal image p95 within 2x of idle": busy_image[1] <= 2 * idle_image[1],
        "memory growth < 100 MB": peak[0] - rss_before < 100,
        "database growth < 1 MB": db_growth < 1024 * 1024,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")


if __name__ == "__main__":
    main()
