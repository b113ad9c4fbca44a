# ruff: noqa: F811 - the start_server fixture imported from test_service_processes is redefined as an argument
"""Workers killed at several points of a job: once it ends, no plaintext and no upload of it is left."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_service_processes import SLOW, Server, _key, _submit, _wait, start_server  # noqa: F401

# How plaintext media files begin: MP4/MOV (after the box size), Matroska/WebM, PNG, JPEG, raw H.264.
_MAGIC = ((4, b"ftyp"), (0, b"\x1aE\xdf\xa3"), (0, b"\x89PNG"), (0, b"\xff\xd8\xff"), (0, b"\0\0\0\1"))


def _leftovers(data_dir: Path, job_id: str, original: bytes) -> list[Path]:
    """Files under the data folder that are plaintext media, hold a run of the original, or are its upload."""
    runs = [original[i : i + 256] for i in range(0, max(len(original) - 256, 1), 512)]
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if (
            any(data[at : at + len(sig)] == sig for at, sig in _MAGIC)
            or any(run in data for run in runs)
            or path.name.startswith(f"{job_id}.upload")
        ):
            found.append(path)
    return found


def _worker_of(server: Server, job_id: object) -> int:
    with sqlite3.connect(f"file:{server.data_dir / 'veil.sqlite3'}?mode=ro", uri=True) as db:
        (pid,) = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return int(pid)


@pytest.mark.parametrize(
    "crash",
    [
        "veil.service.fakes:crash_on_open_pipeline",  # input decrypted, pipeline loading
        "veil.service.fakes:crash_mid_run_pipeline",  # third frame: partial output written
        "kill-from-outside",  # SIGKILL while frames are processed, at whatever point it lands
    ],
)
def test_a_job_whose_worker_is_killed_on_every_attempt_leaves_nothing(
    start_server: Callable[..., Server], make_video, crash: str
) -> None:
    server = start_server(workers=1, factory=SLOW if crash == "kill-from-outside" else crash)
    headers = _key(server.data_dir)
    clip = make_video(frames=30).read_bytes()
    job = _submit(server, headers, clip)
    if crash == "kill-from-outside":
        for attempt in (1, 2, 3):
            _wait(
                server,
                headers,
                job["id"],
                lambda j, a=attempt: j["state"] == "running" and j["attempts"] == a and j["frames_done"] >= 1,
            )
            os.kill(_worker_of(server, job["id"]), signal.SIGKILL)
    final = _wait(server, headers, job["id"], lambda j: j["state"] == "failed")
    assert "gave up after 3 attempts" in str(final["error"])
    deadline = time.monotonic() + 10
    while (left := _leftovers(server.data_dir, str(job["id"]), clip)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []
