# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""Webhooks leave from their own queue, with one idempotency key per event, to the address checked."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from service_helpers import Service, service, service_settings  # noqa: F401 - fixtures

from veil.service import webhooks
from veil.service.db import Database
from veil.service.jobs import JobStore, NewJob, new_job_id
from veil.service.keys import Scope
from veil.service.webhook_queue import WebhookQueue
from veil.service.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, Attempt, post_once, verify_signature


class Receiver:
    """A loopback webhook receiver: ``/slow`` answers after a pause, ``/flaky`` fails its first call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((self.path, dict(self.headers), body))
                if self.path == "/slow":
                    time.sleep(3)
                flaky_first = self.path == "/flaky" and sum(c[0] == "/flaky" for c in receiver.calls) == 1
                self.send_response(503 if flaky_first else 204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def wait_for(
        self, path: str, count: int, timeout_s: float = 10.0
    ) -> list[tuple[str, dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = [c for c in self.calls if c[0] == path]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{path}: {len(got)} of {count} calls in {timeout_s} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


def _submit(service: Service, headers: dict[str, str], clip: Path, webhook_url: str) -> str:
    with clip.open("rb") as handle:
        answer = service.client.post(
            "/v1/jobs",
            headers=headers,
            files={"file": (clip.name, handle, "video/mp4")},
            data={"operation": "object-mask", "webhook_url": webhook_url},
        )
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def test_a_slow_receiver_holds_up_no_job_and_retries_carry_one_key(
    service: Service, make_video, receiver: Receiver
) -> None:
    state = service.context.state
    slow = state.keys.create("a", frozenset({Scope.SUBMIT}), "tenant-a")
    flaky = state.keys.create("b", frozenset({Scope.SUBMIT}), "tenant-b")
    clip = make_video(frames=4)
    slow_job = _submit(service, {"Authorization": f"Bearer {slow.token}"}, clip, receiver.url("/slow"))
    flaky_job = _submit(service, {"Authorization": f"Bearer {flaky.token}"}, clip, receiver.url("/flaky"))
    started = time.monotonic()
    assert service.run_jobs() == 2
    assert time.monotonic() - started < 2.5  # the worker only queued the webhooks
    (slow_call,) = receiver.wait_for("/slow", 1)
    first, second = receiver.wait_for("/flaky", 2)
    # The retry is the same event: same body, same idempotency key, freshly signed.
    assert first[2] == second[2] and first[1][IDEMPOTENCY_HEADER] == second[1][IDEMPOTENCY_HEADER]
    assert json.loads(second[2]) == {
        "job_id": flaky_job,
        "state": "succeeded",
        "error": None,
        "operation": "object-mask",
    }
    assert verify_signature(flaky.webhook_secret, second[2], second[1][SIGNATURE_HEADER])
    assert json.loads(slow_call[2])["job_id"] == slow_job
    time.sleep(0.5)
    assert len([c for c in receiver.calls if c[0] == "/flaky"]) == 2  # delivered: no more attempts
    (delivery,) = state.webhooks.of_job(flaky_job)
    assert delivery.state == "delivered" and delivery.attempts == 2


def test_the_post_connects_to_the_address_that_was_checked(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return real(host, *args, **kwargs)
        asked.append(host)
        # First answer: loopback (allowed here); any later one points somewhere else entirely.
        return real("127.0.0.1" if len(asked) == 1 else "192.0.2.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    attempt = post_once(receiver.url("/hook", "hooks.example"), "s3cret", b"{}", "whd_1", allow_private=True)
    assert attempt.delivered, attempt.detail
    assert asked == ["hooks.example"]  # resolved once
    ((_, headers, _),) = receiver.wait_for("/hook", 1)
    assert headers["Host"] == f"hooks.example:{receiver.port}" and headers[IDEMPOTENCY_HEADER] == "whd_1"


def test_a_name_that_resolves_to_any_internal_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def two_answers(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return real(host, *args, **kwargs)
        return real("93.184.216.34", *args, **kwargs) + real("64:ff9b::a9fe:a9fe", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    monkeypatch.setattr(webhooks.httpx2, "Client", None)  # nothing may be sent
    attempt = post_once("https://hooks.example/hook", "s3cret", b"{}", "whd_1")
    assert not attempt.delivered and not attempt.retry and "169.254.169.254" in attempt.detail


def test_retries_are_bounded_and_each_event_is_queued_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "veil.sqlite3")
    now = [1000.0]
    queue, jobs = WebhookQueue(db, clock=lambda: now[0]), JobStore(db, max_attempts=1, result_ttl_s=60)
    new = NewJob("acme", "k1", "object-mask", {}, "c.mp4", "ab", 1, "video", False, "https://x.test/h", None)
    job, _ = jobs.submit(new, new_job_id())
    assert queue.enqueue(job, "succeeded", None) is not None
    assert queue.enqueue(job, "succeeded", None) is None  # the same event again: not a second delivery
    states = []
    for _ in range(10):
        due = queue.claim_due(4, set())
        if not due:
            now[0] += 3600
            continue
        states.append(queue.record(due[0], Attempt(False, True, "answered 500")))
    assert states == ["pending"] * 4 + ["failed"]
    assert queue.claim_due(4, set()) == []
    db.close()
