# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""``method=obfuscator`` over HTTP: the model the server was started with, never one a client names."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage
from service_helpers import Service, png_bytes, service, service_settings  # noqa: F401 - fixtures

from obfuscator_graphs import (
    inverted,
    mean_difference,
    write_failing_obfuscator,
    write_gradient_clip,
    write_inverting_obfuscator,
)
from veil.service import ServiceSettings, create_app

FRAMES = 8


def _start(settings: ServiceSettings, model: Path | None) -> Iterator[Service]:
    with TestClient(create_app(dataclasses.replace(settings, obfuscator=model))) as client:
        yield Service(client, client.app.state.veil)  # type: ignore[attr-defined]


@pytest.fixture
def obfuscating(service_settings: ServiceSettings, tmp_path: Path) -> Iterator[Service]:
    """A server started with an obfuscator that turns each frame into its negative."""
    yield from _start(service_settings, write_inverting_obfuscator(tmp_path / "invert.onnx"))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_gradient_clip(tmp_path / "street.mp4", frames=FRAMES)


def _submit(service: Service, headers: dict[str, str], path: Path, **fields: str) -> Any:
    with path.open("rb") as handle:
        return service.client.post(
            "/v1/jobs",
            headers=headers,
            files={"file": (path.name, handle, "video/mp4")},
            data={"operation": "object-mask", **fields},
        )


def _frames(data: bytes | Path) -> list[np.ndarray]:
    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_a_job_obfuscates_every_frame_with_the_servers_model(obfuscating: Service, clip: Path) -> None:
    headers = obfuscating.key()
    response = _submit(obfuscating, headers, clip, method="obfuscator")
    assert response.status_code == 201, response.text
    job = response.json()
    assert obfuscating.run_jobs() == 1
    status = obfuscating.client.get(f"/v1/jobs/{job['id']}", headers=headers).json()
    assert status["state"] == "succeeded", status
    result = obfuscating.client.get(f"/v1/jobs/{job['id']}/result", headers=headers)
    assert result.status_code == 200
    received, sent = _frames(result.content), _frames(clip)
    assert len(received) == len(sent) == FRAMES
    for raw, safe in zip(sent, received, strict=True):
        assert mean_difference(safe, inverted(raw)) < 6
        assert mean_difference(safe, raw) > 40
    report = obfuscating.client.get(f"/v1/jobs/{job['id']}/report", headers=headers).json()
    assert report["frames_anonymized"] == report["frames_written"] == FRAMES
    assert report["frames_detected"] == 0
    # Nothing was detected, so there is no detections file to fetch.
    assert obfuscating.client.get(f"/v1/jobs/{job['id']}/detections", headers=headers).status_code == 404


def test_the_image_endpoint_obfuscates_the_whole_image(
    obfuscating: Service, png_bytes: Callable[..., bytes]
) -> None:
    original = png_bytes(96, 60)
    response = obfuscating.client.post(
        "/v1/images:anonymize",
        headers=obfuscating.key(),
        files={"file": ("photo.png", original, "image/png")},
        data={"method": "obfuscator"},
    )
    assert response.status_code == 200, response.text
    before = np.asarray(PILImage.open(io.BytesIO(original)))
    after = np.asarray(PILImage.open(io.BytesIO(response.content)))
    assert np.abs(after.astype(int) - inverted(before)).max() <= 1  # PNG: the network's output exactly
    assert obfuscating.data_files() == []


def test_a_server_without_a_model_refuses_the_method(
    service: Service, clip: Path, png_bytes: Callable[..., bytes]
) -> None:
    headers = service.key()
    job = _submit(service, headers, clip, method="obfuscator")
    image = service.client.post(
        "/v1/images:anonymize",
        headers=headers,
        files={"file": ("photo.png", png_bytes(), "image/png")},
        data={"method": "obfuscator"},
    )
    for response in (job, image):
        assert response.status_code == 422, response.text
        assert "started without one (veil serve --obfuscator" in response.json()["detail"]
    assert service.data_files() == []


def test_a_client_cannot_name_a_model_file(obfuscating: Service, clip: Path, tmp_path: Path) -> None:
    theirs = write_inverting_obfuscator(tmp_path / "theirs.onnx")
    response = _submit(obfuscating, obfuscating.key(), clip, method="obfuscator", obfuscator=str(theirs))
    assert response.status_code == 422
    assert "unknown option(s) obfuscator" in response.json()["detail"]
    assert obfuscating.data_files() == []


def test_removal_jobs_take_no_obfuscator(obfuscating: Service, clip: Path) -> None:
    response = _submit(
        obfuscating,
        obfuscating.key(),
        clip,
        operation="remove-dynamic-object",
        targets="person",
        method="obfuscator",
    )
    assert response.status_code == 422
    assert "applies to object-mask and audit jobs" in response.json()["detail"]


def test_a_model_error_fails_the_job_and_serves_nothing(
    service_settings: ServiceSettings, clip: Path, tmp_path: Path
) -> None:
    for failing in _start(service_settings, write_failing_obfuscator(tmp_path / "fails.onnx")):
        headers = failing.key()
        job = _submit(failing, headers, clip, method="obfuscator").json()
        assert failing.run_jobs() == 1
        status = failing.client.get(f"/v1/jobs/{job['id']}", headers=headers).json()
        assert status["state"] == "failed" and "whole-frame anonymization" in status["error"]
        assert failing.client.get(f"/v1/jobs/{job['id']}/result", headers=headers).status_code == 409
        assert failing.data_files() == []
