# ruff: noqa: F811 - pytest fixtures imported from service_helpers are redefined as arguments
"""Upload limits hold where the frames are decoded: raw streams without a duration, frames that grow."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import Service, service_settings  # noqa: F401 - fixtures

from veil.service import Limits, ServiceSettings, create_app
from veil.service.jobs import JobState
from veil.service.media_check import RejectedMediaError, scan_video

LIMITS = Limits(max_upload_bytes=2_000_000, max_duration_s=2, max_width_px=1280, max_height_px=720)


@pytest.fixture
def limited(service_settings: ServiceSettings) -> Iterator[Service]:
    with TestClient(create_app(dataclasses.replace(service_settings, limits=LIMITS))) as client:
        yield Service(client, client.app.state.veil)  # type: ignore[attr-defined]


def _run(service: Service, clip: Path) -> tuple[JobState, str]:
    with clip.open("rb") as handle:
        answer = service.client.post(
            "/v1/jobs",
            headers=service.key(),
            files={"file": (clip.name, handle, "video/h264")},
            data={"operation": "object-mask"},
        )
    assert answer.status_code == 201, answer.text  # the probe cannot tell: the worker must
    service.run_jobs()
    job = service.context.state.jobs.get(answer.json()["id"])
    assert job is not None
    return job.state, job.error or ""


def test_a_raw_stream_longer_than_the_limit_fails_when_decoded(limited: Service, make_video) -> None:
    clip = make_video("long.h264", fps=25, frames=75)  # 3 s, and a raw stream states no duration
    state, error = _run(limited, clip)
    assert state is JobState.FAILED
    assert "lasts more than the limit of 2 s" in error and "frame 50" in error


def test_a_stream_whose_frames_grow_part_way_fails_when_decoded(limited: Service, make_video) -> None:
    small = make_video("small.h264", width=64, height=48, frames=10)
    large = make_video("large.h264", width=1600, height=64, frames=4)
    clip = small.with_name("grows.h264")
    clip.write_bytes(small.read_bytes() + large.read_bytes())  # a new SPS part way: a new frame size
    state, error = _run(limited, clip)
    assert state is JobState.FAILED
    assert "frame 10 is 1600×64, over the limit of 1280×720" in error


def test_scan_accepts_what_is_within_the_limits(make_video) -> None:
    seen: list[int] = []
    scan = scan_video(make_video("ok.h264", fps=25, frames=50), LIMITS, seen.append)
    assert scan.frames == 50 and scan.duration_s == pytest.approx(2.0) and seen[-1] == 50
    with pytest.raises(RejectedMediaError, match="lasts more than"):
        scan_video(make_video("long.mp4", fps=10, frames=21), LIMITS)
