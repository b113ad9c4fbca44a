"""The service as deployed: `veil serve` processes on loopback under load, worker kills and restarts."""

from __future__ import annotations

import datetime
import io
import ipaddress
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VEIL = Path(sys.executable).with_name("veil")
FAST = "veil.service.fakes:fake_pipeline"
SLOW = "veil.service.fakes:slow_fake_pipeline"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
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


class Server:
    """One `veil serve` process on a data folder; stop() ends it and any worker it left."""

    def __init__(
        self, data_dir: Path, *, workers: int = 2, factory: str = FAST, tls: tuple[Path, Path] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        args = [
            str(VEIL),
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        args += ["--pipeline-factory", factory, "--rate-per-minute", "100000"]
        args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else ["--insecure"]
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(tls[0])) if tls else True
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.workers: set[int] = set()

    def wait_ready(self) -> None:
        """Wait until /healthz answers."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (
                self.process.stderr.read().decode() if self.process.stderr else ""
            )
            try:
                if httpx2.get(f"{self.url}/healthz", verify=self.verify, timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("veil serve did not start in 60 s")
        self.workers.update(_children(self.process.pid))

    def worker_pids(self) -> list[int]:
        pids = _children(self.process.pid)
        self.workers.update(pids)
        return pids

    def kill(self) -> None:
        """SIGKILL the server (its workers notice and stop on their own)."""
        self.worker_pids()
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.worker_pids()
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr:
            self.process.stderr.close()
        deadline = time.monotonic() + 10
        for pid in self.workers:  # nothing may outlive the test
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(**kwargs: object) -> Server:
        server = Server(tmp_path / "data", **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def _key(data_dir: Path, scopes: str = "submit,read", tenant: str = "acme") -> dict[str, str]:
    out = subprocess.run(
        [
            str(VEIL),
            "keys",
            "create",
            "--name",
            "t",
            "--scope",
            scopes,
            "--tenant",
            tenant,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {"Authorization": f"Bearer {out.stdout.strip()}"}


def _submit(server: Server, headers: dict[str, str], clip: bytes, **fields: str) -> dict[str, object]:
    response = httpx2.post(
        f"{server.url}/v1/jobs",
        headers=headers,
        files={"file": ("clip.mp4", clip, "video/mp4")},
        data={"operation": "object-mask", **fields},
        verify=server.verify,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _job(server: Server, headers: dict[str, str], job_id: object) -> dict[str, object]:
    return httpx2.get(
        f"{server.url}/v1/jobs/{job_id}", headers=headers, verify=server.verify, timeout=10
    ).json()


def _wait(
    server: Server,
    headers: dict[str, str],
    job_id: object,
    done: Callable[[dict[str, object]], bool],
    timeout_s: float = 90,
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job(server, headers, job_id)
        if done(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not get there in {timeout_s} s: {job}")


def _frames(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_twenty_concurrent_submissions_complete(start_server: Callable[..., Server], make_video) -> None:
    server = start_server(workers=2)
    headers = _key(server.data_dir)
    clip = make_video(frames=6).read_bytes()
    with ThreadPoolExecutor(max_workers=20) as pool:
        jobs = list(pool.map(lambda _: _submit(server, headers, clip), range(20)))
    assert len({j["id"] for j in jobs}) == 20
    for job in jobs:
        final = _wait(server, headers, job["id"], lambda j: j["state"] in {"succeeded", "failed"})
        assert final["state"] == "succeeded", final
        result = httpx2.get(f"{server.url}/v1/jobs/{job['id']}/result", headers=headers, timeout=10)
        assert result.status_code == 200 and _frames(result.content) == 6


def test_killed_worker_job_is_retried_and_no_partial_result_is_served(
    start_server: Callable[..., Server], make_video
) -> None:
    server = start_server(workers=1, factory=SLOW)
    headers = _key(server.data_dir)
    job = _submit(server, headers, make_video(frames=30).read_bytes())
    running = _wait(
        server, headers, job["id"], lambda j: j["state"] == "running" and int(j["frames_done"]) >= 3
    )
    with sqlite3.connect(f"file:{server.data_dir / 'veil.sqlite3'}?mode=ro", uri=True) as db:
        (pid,) = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job["id"],)).fetchone()
    assert pid in server.worker_pids() and running["attempts"] == 1
    os.kill(pid, signal.SIGKILL)
    seen: set[int] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        response = httpx2.get(f"{server.url}/v1/jobs/{job['id']}/result", headers=headers, timeout=10)
        seen.add(response.status_code)
        if response.status_code == 200:
            break
        assert response.status_code == 409, response.text  # never a partial result
        time.sleep(0.1)
    assert response.status_code == 200 and _frames(response.content) == 30
    final = _job(server, headers, job["id"])
    assert final["state"] == "succeeded" and final["attempts"] == 2
    assert 409 in seen
    audit = httpx2.get(f"{server.url}/v1/audit", headers=_key(server.data_dir, "admin"), timeout=10).json()
    retried = [e for e in audit if e["action"] == "job.retried" and e["target"] == job["id"]]
    assert retried and f"worker process {pid} died" in retried[0]["detail"]["reason"]


def test_worker_that_keeps_dying_fails_the_job_with_the_reason(
    start_server: Callable[..., Server], make_video
) -> None:
    server = start_server(workers=1, factory=SLOW)
    headers = _key(server.data_dir)
    job = _submit(server, headers, make_video(frames=30).read_bytes())
    for attempt in (1, 2, 3):
        _wait(
            server,
            headers,
            job["id"],
            lambda j, a=attempt: (
                j["state"] == "running" and j["attempts"] == a and int(j["frames_done"]) >= 1
            ),
        )
        with sqlite3.connect(f"file:{server.data_dir / 'veil.sqlite3'}?mode=ro", uri=True) as db:
            (pid,) = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job["id"],)).fetchone()
        os.kill(pid, signal.SIGKILL)
    final = _wait(server, headers, job["id"], lambda j: j["state"] == "failed")
    assert "died" in str(final["error"]) and "gave up after 3 attempts" in str(final["error"])
    assert (
        httpx2.get(f"{server.url}/v1/jobs/{job['id']}/result", headers=headers, timeout=10).status_code == 409
    )


def test_server_restart_loses_no_job(start_server: Callable[..., Server], make_video) -> None:
    server = start_server(workers=1, factory=SLOW)
    headers = _key(server.data_dir)
    clip = make_video(frames=24).read_bytes()
    jobs = [_submit(server, headers, clip) for _ in range(3)]
    _wait(server, headers, jobs[0]["id"], lambda j: j["state"] == "running" and int(j["frames_done"]) >= 1)
    server.kill()
    restarted = start_server(workers=1, factory=FAST)
    for job in jobs:
        final = _wait(restarted, headers, job["id"], lambda j: j["state"] in {"succeeded", "failed"})
        assert final["state"] == "succeeded", final
        result = httpx2.get(f"{restarted.url}/v1/jobs/{job['id']}/result", headers=headers, timeout=10)
        assert _frames(result.content) == 24


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "veil-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_with_the_given_certificate(
    start_server: Callable[..., Server], tmp_path: Path, make_video
) -> None:
    server = start_server(workers=1, tls=_self_signed(tmp_path))
    headers = _key(server.data_dir)
    job = _submit(server, headers, make_video().read_bytes())
    assert _wait(server, headers, job["id"], lambda j: j["state"] == "succeeded")["progress"] == 1.0
    response = httpx2.get(f"{server.url}/", verify=server.verify, timeout=10)
    assert response.headers["strict-transport-security"] and "Veil" in response.text
    with pytest.raises(httpx2.HTTPError):
        httpx2.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)


def test_insecure_is_refused_off_loopback(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            str(VEIL),
            "serve",
            "--data-dir",
            str(tmp_path / "d"),
            "--host",
            "0.0.0.0",
            "--insecure",
            "--port",
            str(_free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "loopback" in out.stderr
