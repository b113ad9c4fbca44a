"""The edge client against a live loopback server: segments arrive as jobs, and only anonymized pixels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import av
import numpy as np
import pytest

from veil.api import open_pipeline
from veil.edge import EdgeSettings, SegmentUploader, UploadError, run_edge
from veil.pipeline.config import Method, PipelineConfig
from veil.service import ServiceSettings, create_app
from veil.service.blobs import BlobKind
from veil.service.context import AppContext
from veil.service.fakes import CenterDetector
from veil.service.keys import Scope


@pytest.fixture
def server(
    tmp_path: Path, serve_app: Callable[..., AbstractContextManager[str]]
) -> Iterator[tuple[str, AppContext]]:
    app = create_app(
        ServiceSettings(
            data_dir=tmp_path / "data", workers=0, pipeline_factory="veil.service.fakes:fake_pipeline"
        )
    )
    with serve_app(app) as url:
        yield url, app.state.veil


def test_edge_ships_only_anonymized_segments(
    server: tuple[str, AppContext], make_video, tmp_path: Path
) -> None:
    url, context = server
    key = context.state.keys.create("camera-7", frozenset({Scope.SUBMIT}), "acme").token
    source = make_video("live.mp4", width=96, height=72, fps=25, frames=30)
    pipeline = open_pipeline(PipelineConfig(default_method=Method.MASK), detector=CenterDetector())
    report = run_edge(
        EdgeSettings(
            source=str(source),
            server=url,
            key=key,
            stream_id="cam7",
            segment_s=0.4,
            spool_dir=tmp_path / "spool",
        ),
        pipeline,
    )
    assert (report.frames, report.segments, report.failures) == (30, 3, [])
    jobs = context.state.jobs.recent("acme")
    assert sorted(j.id for j in jobs) == sorted(report.uploaded) and len(jobs) == 3
    raw = [f.to_ndarray(format="rgb24") for f in av.open(str(source)).decode(video=0)]
    for job in jobs:
        plain = tmp_path / f"{job.id}.mp4"
        context.state.blobs.decrypt_to(job.id, BlobKind.UPLOAD, plain)
        with av.open(str(plain)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == 10
        for frame in frames:
            centre = frame[30:42, 38:58].reshape(-1, 3).astype(int)
            assert np.ptp(centre, axis=0).max() <= 12  # the masked region is flat, never the raw texture
            assert not any(np.abs(frame[30:42, 38:58].astype(int) - r[30:42, 38:58]).mean() < 5 for r in raw)
    assert list((tmp_path / "spool").iterdir()) == []  # delivered segments are removed


def test_retried_segment_makes_no_second_job_and_refusals_are_final(
    server: tuple[str, AppContext], make_video, free_port: Callable[[], int]
) -> None:
    url, context = server
    key = context.state.keys.create("camera-8", frozenset({Scope.SUBMIT}), "acme").token
    segment = make_video("cam8-000001.mp4")
    uploader = SegmentUploader(url, key, "cam8", attempts=2, backoff_s=0.01)
    assert uploader.upload(segment) == uploader.upload(segment)
    assert len(context.state.jobs.recent("acme")) == 1
    wrong = SegmentUploader(url, "veil_bad_key", "cam8", attempts=3, backoff_s=0.01)
    with pytest.raises(UploadError, match="refused"):
        wrong.upload(segment)
    unreachable = SegmentUploader(f"http://127.0.0.1:{free_port()}", key, "cam8", attempts=2, backoff_s=0.01)
    with pytest.raises(UploadError, match="after 2 attempts"):
        unreachable.upload(segment)
    for client in (uploader, wrong, unreachable):
        client.close()
