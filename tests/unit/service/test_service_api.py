# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""The HTTP API in-process: auth and tenants, uploads refused early, jobs, results, images, webhooks."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage
from service_helpers import Service, png_bytes, service, service_settings  # noqa: F401 - fixtures

from veil.service import ServiceSettings, create_app, operations
from veil.service.blobs import BlobKind
from veil.service.keys import Scope
from veil.service.operations import Operation
from veil.service.ratelimit import RateLimiter
from veil.service.webhooks import SIGNATURE_HEADER, verify_signature


def _submit(service: Service, headers: dict[str, str], path: Path, **fields: str) -> object:
    with path.open("rb") as handle:
        return service.client.post(
            "/v1/jobs",
            headers=headers,
            files={"file": (path.name, handle, "video/mp4")},
            data={"operation": "object-mask", **fields},
        )


def test_job_round_trip_serves_an_anonymized_video_and_its_detections(service: Service, make_video) -> None:
    headers = service.key()
    clip = make_video("street.mp4", width=96, height=64, frames=8)
    response = _submit(service, headers, clip, method="mask")
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["state"] == "queued" and response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert service.client.get(f"/v1/jobs/{job['id']}/result", headers=headers).status_code == 409
    assert service.run_jobs() == 1
    status = service.client.get(f"/v1/jobs/{job['id']}", headers=headers).json()
    assert status["state"] == "succeeded" and status["progress"] == 1.0
    assert status["frames_done"] == status["frames_total"] == 8
    assert status["timings"]["run_s"] > 0
    result = service.client.get(f"/v1/jobs/{job['id']}/result", headers=headers)
    assert result.status_code == 200 and result.headers["content-disposition"].endswith('street.anon.mp4"')
    with av.open(io.BytesIO(result.content)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 8
    # The fake detector reports the middle third as a face and method=mask paints it flat.
    centre = frames[0][28:36, 40:56].reshape(-1, 3)
    assert np.ptp(centre, axis=0).max() <= 12
    detections = service.client.get(f"/v1/jobs/{job['id']}/detections", headers=headers).json()
    assert len(detections["frames"]) == 8 and detections["frames"][0]["regions"][0]["class"] == "face"
    report = service.client.get(f"/v1/jobs/{job['id']}/report", headers=headers).json()
    assert report["frames_written"] == report["frames_anonymized"] == 8
    # The original is erased after processing; only encrypted result and detections remain.
    state = service.context.state
    assert not state.blobs.exists(job["id"], BlobKind.UPLOAD)
    assert clip.read_bytes()[-4096:] not in state.blobs.path(job["id"], BlobKind.RESULT).read_bytes()


def test_retained_original_is_kept_until_deletion_which_erases_everything(
    service: Service, make_video
) -> None:
    headers = service.key()
    job = _submit(service, headers, make_video(), retain_original="true").json()
    service.run_jobs()
    assert service.context.state.blobs.exists(job["id"], BlobKind.UPLOAD)
    assert service.client.delete(f"/v1/jobs/{job['id']}", headers=headers).status_code == 204
    assert service.client.get(f"/v1/jobs/{job['id']}", headers=headers).status_code == 404
    assert service.data_files() == []


@pytest.mark.parametrize(
    ("scopes", "method", "path", "expected"),
    [
        (None, "get", "/v1/jobs", 401),
        ("bogus", "get", "/v1/jobs", 401),
        ("submit", "get", "/v1/jobs", 403),
        ("read", "post", "/v1/jobs", 403),
        ("read", "post", "/v1/images:anonymize", 403),
        ("read", "delete", "/v1/jobs/0123456789abcdef01234567", 403),
        ("submit,read", "get", "/v1/audit", 403),
        ("admin", "get", "/v1/audit", 200),
    ],
)
def test_keys_and_scopes_are_enforced(
    service: Service, scopes: str | None, method: str, path: str, expected: int
) -> None:
    headers = (
        {}
        if scopes is None
        else {"Authorization": "Bearer veil_abc_def"}
        if scopes == "bogus"
        else service.key(scopes)
    )
    response = service.client.request(method, path, headers=headers)
    assert response.status_code == expected, response.text
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_another_tenants_job_is_invisible(service: Service, make_video) -> None:
    mine, theirs = service.key(tenant="acme"), service.key(tenant="globex")
    job = _submit(service, mine, make_video()).json()
    service.run_jobs()
    for suffix in ("", "/result", "/detections", "/report"):
        assert service.client.get(f"/v1/jobs/{job['id']}{suffix}", headers=theirs).status_code == 404
    assert service.client.delete(f"/v1/jobs/{job['id']}", headers=theirs).status_code == 404
    assert service.client.get("/v1/jobs", headers=theirs).json()["jobs"] == []
    assert service.client.get(f"/v1/jobs/{job['id']}", headers=mine).json()["state"] == "succeeded"


def test_revoked_key_is_refused(service: Service) -> None:
    headers = service.key()
    key_id = headers["Authorization"].split("_")[1]
    assert service.client.get("/v1/jobs", headers=headers).status_code == 200
    assert service.context.state.keys.revoke(key_id)
    assert service.client.get("/v1/jobs", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("text", 415),  # a text file is not media
        ("empty", 422),
        ("oversized", 413),
        ("too_wide", 413),
        ("not_multipart", 415),
        ("no_file", 422),
        ("two_files", 400),
        ("bad_operation", 422),
        ("bad_option", 422),
        ("bad_webhook", 422),
        ("truncated_body", 400),
    ],
)
def test_bad_uploads_get_4xx_and_leave_nothing_behind(
    service: Service, make_video, png_bytes: Callable[..., bytes], payload: str, expected: int
) -> None:
    headers = service.key()
    clip = make_video().read_bytes()
    client = service.client
    files: dict[str, tuple[str | None, bytes]] | list[tuple[str, tuple[str, bytes]]] = {
        "file": ("clip.mp4", clip)
    }
    data = {"operation": "object-mask"}
    if payload == "text":
        files = {"file": ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n" * 10)}
    elif payload == "empty":
        files = {"file": ("clip.mp4", b"")}
    elif payload == "oversized":
        files = {"file": ("clip.mp4", clip + b"\0" * 2_000_001)}
    elif payload == "too_wide":
        files = {"file": ("wide.png", png_bytes(2000, 16))}
    elif payload == "no_file":
        files = {"targets": (None, b"face")}  # multipart, but without a file part
    elif payload == "two_files":
        files = [("file", ("a.mp4", clip)), ("file", ("b.mp4", clip))]
    elif payload == "bad_operation":
        data["operation"] = "erase-everything"
    elif payload == "bad_option":
        data["method"] = "smudge"
    elif payload == "bad_webhook":
        data["webhook_url"] = "file:///etc/passwd"
    if payload == "not_multipart":
        response = client.post("/v1/jobs", headers=headers, content=clip)
    elif payload == "truncated_body":
        body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\n\r\n' + clip[:500]
        response = client.post(
            "/v1/jobs", headers={**headers, "Content-Type": "multipart/form-data; boundary=b"}, content=body
        )
    else:
        response = client.post("/v1/jobs", headers=headers, files=files, data=data)
    assert response.status_code == expected, response.text
    assert response.json()["detail"]
    assert service.data_files() == []
    assert client.get("/v1/jobs", headers=headers).json()["jobs"] == []


def test_video_longer_than_the_limit_is_refused(service: Service, make_video) -> None:
    long_clip = make_video("long.mp4", fps=1, frames=40)  # 40 s > 30 s limit
    response = _submit(service, service.key(), long_clip)
    assert response.status_code == 413 and "lasts" in response.json()["detail"]
    assert service.data_files() == []


def test_idempotency_key_returns_the_first_job(service: Service, make_video) -> None:
    headers = {**service.key(), "Idempotency-Key": "upload-42"}
    clip = make_video()
    first = _submit(service, headers, clip)
    again = _submit(service, headers, clip)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = _submit(service, headers, clip, method="pixelate")
    assert other.status_code == 409
    assert len(service.client.get("/v1/jobs", headers=headers).json()["jobs"]) == 1
    assert len([p for p in service.data_files() if p.suffix == ".upload"]) == 1


@pytest.mark.parametrize(
    ("operation", "fields"),
    [
        (Operation.REMOVE_STATIC_OBJECT, {"box": "10,10,40,30"}),
        (Operation.REMOVE_DYNAMIC_OBJECT, {"targets": "person"}),
        (Operation.AUDIT, {}),
    ],
    ids=lambda v: getattr(v, "value", ""),
)
def test_every_operation_is_accepted(
    service: Service, make_video, operation: Operation, fields: dict[str, str]
) -> None:
    response = _submit(service, service.key(), make_video(), operation=operation.value, **fields)
    assert response.status_code == 201, response.text
    assert response.json()["operation"] == operation.value


def test_static_removal_needs_the_object_named(service: Service, make_video) -> None:
    response = _submit(service, service.key(), make_video(), operation="remove-static-object")
    assert response.status_code == 422 and "box or track_id" in response.json()["detail"]


def test_an_operation_missing_from_the_build_answers_501(service: Service, make_video, monkeypatch) -> None:
    table = dict(operations._TABLE) | {Operation.AUDIT: "veil.not_there:audit_paths"}
    monkeypatch.setattr(operations, "_TABLE", MappingProxyType(table))
    response = _submit(service, service.key(), make_video(), operation="audit")
    assert response.status_code == 501 and "not available" in response.json()["detail"]
    assert service.data_files() == []


def test_image_endpoint_returns_the_anonymized_image(
    service: Service, png_bytes: Callable[..., bytes]
) -> None:
    original = png_bytes(96, 60)
    response = service.client.post(
        "/v1/images:anonymize",
        headers=service.key(),
        files={"file": ("photo.png", original, "image/png")},
        data={"method": "mask"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    before = np.asarray(PILImage.open(io.BytesIO(original)))
    after = np.asarray(PILImage.open(io.BytesIO(response.content)))
    assert after.shape == before.shape
    assert not np.array_equal(after[20:40, 32:64], before[20:40, 32:64])
    assert np.array_equal(after[:5, :5], before[:5, :5])
    assert service.data_files() == []


def test_image_endpoint_refuses_video(service: Service, make_video) -> None:
    with make_video().open("rb") as handle:
        response = service.client.post(
            "/v1/images:anonymize", headers=service.key(), files={"file": ("c.mp4", handle)}
        )
    assert response.status_code == 415


def test_rate_limit_answers_429_with_retry_after(service: Service) -> None:
    headers = service.key("read")
    service.context.limiter = RateLimiter(per_minute=1.0, burst=2)
    codes = [service.client.get("/v1/jobs", headers=headers).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[2:] == [429, 429]
    assert int(service.client.get("/v1/jobs", headers=headers).headers["retry-after"]) >= 1


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, self.headers[SIGNATURE_HEADER]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_webhook_is_signed_with_the_keys_secret(service: Service, make_video, hook_server) -> None:
    url, received = hook_server
    state = service.context.state
    created = state.keys.create("hooked", frozenset({Scope.SUBMIT, Scope.READ}), "acme")
    headers = {"Authorization": f"Bearer {created.token}"}
    job = _submit(service, headers, make_video(), webhook_url=url).json()
    service.run_jobs()
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    body, signature = received[0]
    assert json.loads(body) == {
        "job_id": job["id"],
        "state": "succeeded",
        "error": None,
        "operation": "object-mask",
    }
    assert verify_signature(created.webhook_secret, body, signature)
    assert not verify_signature("wrong", body, signature)


def test_audit_log_records_who_did_what(service: Service, make_video) -> None:
    submit = service.key()
    job = _submit(service, submit, make_video()).json()
    service.run_jobs()
    service.client.get(f"/v1/jobs/{job['id']}/result", headers=submit)
    entries = service.client.get("/v1/audit", headers=service.key("admin")).json()
    actions = [(e["action"], e["target"]) for e in entries if e["target"] == job["id"]]
    assert actions == [
        ("job.submitted", job["id"]),
        ("job.succeeded", job["id"]),
        ("job.result.read", job["id"]),
    ]
    assert service.context.state.audit.verify_chain()


def test_a_webhook_to_a_private_address_is_refused_at_submission(
    service_settings: ServiceSettings, make_video
) -> None:
    settings = dataclasses.replace(service_settings, allow_private_webhooks=False)
    with TestClient(create_app(settings)) as client:
        service = Service(client, client.app.state.veil)  # type: ignore[attr-defined]
        answer = _submit(service, service.key(), make_video(), webhook_url="http://127.0.0.1:8080/hook")
        assert answer.status_code == 422  # type: ignore[attr-defined]
        assert "non-public address" in answer.json()["detail"]  # type: ignore[attr-defined]
        assert service.context.state.jobs.recent("acme", 10) == []
