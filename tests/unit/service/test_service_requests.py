# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""Requests: fair image slots between tenants, every field checked at submission, no server paths out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import Service, png_bytes, service, service_settings  # noqa: F401 - fixtures

from veil.api import Pipeline, open_pipeline
from veil.detections import Detections
from veil.errors import VeilError
from veil.pipeline.config import PipelineConfig
from veil.service import ServiceSettings, create_app
from veil.service import worker as worker_module
from veil.service.fakes import CenterDetector
from veil.service.image_slots import ImageSlots, TenantQueueFullError
from veil.service.jobs import JobState
from veil.service.operations import OperationResult
from veil.types import Image

DETECTED: list[tuple[float, int]] = []  # (time, width) of each detection, in order


class _RecordingDetector(CenterDetector):
    def detect(self, image: Image) -> Detections:
        DETECTED.append((time.monotonic(), image.shape[1]))
        time.sleep(0.2)
        return super().detect(image)


def recording_pipeline(config: PipelineConfig) -> Pipeline:
    """A pipeline that notes the width of each image it detects on, at 0.2 s an image."""
    return open_pipeline(config, detector=_RecordingDetector())


@pytest.fixture
def recorded(service_settings: ServiceSettings) -> Iterator[Service]:
    DETECTED.clear()
    factory = f"{__name__}:recording_pipeline"
    settings = dataclasses.replace(service_settings, pipeline_factory=factory, image_queue_per_tenant=16)
    with TestClient(create_app(settings)) as client:
        yield Service(client, client.app.state.veil)  # type: ignore[attr-defined]


def test_one_tenants_burst_delays_another_tenants_image_by_little(
    recorded: Service, png_bytes: Callable[..., bytes]
) -> None:
    a, b = recorded.key(tenant="tenant-a"), recorded.key(tenant="tenant-b")
    burst, single = png_bytes(96, 64), png_bytes(48, 32)
    for headers in (a, b):  # each key's one scrypt run, done before the clock matters
        assert recorded.client.get("/v1/jobs", headers=headers).status_code == 200

    def send(headers: dict[str, str], image: bytes) -> int:
        files = {"file": ("p.png", image, "image/png")}
        return recorded.client.post("/v1/images:anonymize", headers=headers, files=files).status_code

    with ThreadPoolExecutor(max_workers=13) as pool:
        bursts = [pool.submit(send, a, burst) for _ in range(12)]
        while len(DETECTED) < 2:  # tenant A's images fill both slots; the rest wait
            time.sleep(0.01)
        sent = time.monotonic()
        other = pool.submit(send, b, single)
        assert other.result() == 200 and all(f.result() == 200 for f in bursts)
    widths = [w for _, w in DETECTED]
    b_at = next(t for t, w in DETECTED if w == 48)
    # Tenant B's image took the next free slot, not a place after tenant A's whole burst.
    assert sum(sent < t < b_at for t, w in DETECTED if w == 96) <= 1, DETECTED
    assert widths[widths.index(48) :].count(96) >= 4, widths


def test_slots_go_in_turn_and_a_full_tenant_queue_is_refused() -> None:
    async def scenario() -> list[str]:
        slots = ImageSlots(recording_pipeline, slots=1, queue_per_tenant=3)
        order: list[str] = []
        gate = asyncio.Event()

        async def image(tenant: str) -> None:
            async with slots.hold(tenant):
                order.append(tenant)
                await gate.wait()

        tasks = [asyncio.create_task(image("a")) for _ in range(4)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(image("b")))
        await asyncio.sleep(0)
        with pytest.raises(TenantQueueFullError):
            await image("a")  # one running and three waiting already
        gate.set()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["a", "b", "a", "a", "a"]


def _submit(service: Service, clip: Path, fields: dict[str, str] | list[tuple[str, str]]) -> object:
    data = [("operation", "object-mask")] if "operation" not in dict(fields) else []
    with clip.open("rb") as handle:
        return service.client.post(
            "/v1/jobs",
            headers=service.key(),
            files=[
                ("file", (clip.name, handle, "video/mp4")),
                *[
                    (k, (None, v))
                    for k, v in [*data, *(fields.items() if isinstance(fields, dict) else fields)]
                ],
            ],
        )


@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [
        ({"operation": "remove-static-object", "box": "10,10,70,40"}, 422, "not inside the 64×48 frame"),
        ({"operation": "remove-static-object", "box": "-1e308,0,10,10"}, 422, "not inside"),
        ({"operation": "remove-static-object", "box": "nan,0,10,10"}, 422, "finite"),
        ({"operation": "remove-static-object", "box": "1e999,0,10,10"}, 422, "finite"),
        ({"operation": "remove-static-object", "box": "5,5,5,9"}, 422, "empty"),
        ({"operation": "remove-static-object", "track_id": "-1"}, 422, "track_id"),
        ({"operation": "remove-static-object", "track_id": "99999999999"}, 422, "track_id"),
        ({"retain_original": "maybe"}, 422, "retain_original"),
        ({"tile": "perhaps"}, 422, "tile"),
        ([("method", "blur"), ("method", "mask")], 400, "more than once"),
        ([("operation", "object-mask"), ("operation", "audit")], 400, "more than once"),
    ],
)
def test_every_field_is_checked_at_submission(
    service: Service, make_video, fields: dict[str, str] | list[tuple[str, str]], status: int, named: str
) -> None:
    answer = _submit(service, make_video(width=64, height=48), fields)
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert named in answer.json()["detail"]  # type: ignore[attr-defined]
    assert service.context.state.jobs.recent("acme") == [] and service.data_files() == []


def test_a_box_inside_the_frame_is_accepted(service: Service, make_video) -> None:
    fields = {"operation": "remove-static-object", "box": "0,0,64,48"}
    assert _submit(service, make_video(width=64, height=48), fields).status_code == 201  # type: ignore[attr-defined]


def test_reports_and_errors_name_no_server_path(
    service: Service, make_video, monkeypatch: pytest.MonkeyPatch
) -> None:
    def like_removal(operation: object, ctx: worker_module.OperationContext) -> OperationResult:
        # The removal report names its source and output files by their full paths.
        dst = ctx.out_dir / f"{ctx.src.stem}.remove-static-object{ctx.src.suffix}"
        shutil.copy(ctx.src, dst)
        return OperationResult(dst, None, {"source": str(ctx.src), "output": str(dst), "frames": [str(dst)]})

    data_dir = str(service.context.state.settings.data_dir)
    monkeypatch.setattr(worker_module, "run_operation", like_removal)
    job = _submit(service, make_video(), {}).json()  # type: ignore[attr-defined]
    service.run_jobs()
    report = service.client.get(f"/v1/jobs/{job['id']}/report", headers=service.key()).json()
    assert report["source"] == "input.mp4" and report["output"] == "input.remove-static-object.mp4"
    assert data_dir not in json.dumps(report) and "/" not in json.dumps(report)

    def broken(operation: object, ctx: worker_module.OperationContext) -> object:
        raise VeilError(f"{ctx.src}: the decoder gave up at frame 3")

    monkeypatch.setattr(worker_module, "run_operation", broken)
    failed = _submit(service, make_video(), {}).json()  # type: ignore[attr-defined]
    service.run_jobs()
    stored = service.context.state.jobs.get(failed["id"])
    assert stored is not None and stored.state is JobState.FAILED
    assert stored.error == "input.mp4: the decoder gave up at frame 3"


def test_healthz_says_nothing_about_tenants(service: Service, make_video) -> None:
    assert _submit(service, make_video(), {}).status_code == 201  # type: ignore[attr-defined]
    answer = service.client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
