"""The Ray engine on a Ray instance the tests start: the local engine's results, retries, bad addresses."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import ray

from batch_clips import DyingDetector, SquareDetector, long_clip
from media_matrix import presentation_times
from veil.batch import BatchEngine, BatchSettings, run_batch
from veil.errors import ConfigError
from veil.pipeline.config import PipelineConfig, RunOptions

CONFIG = PipelineConfig()
JSON = RunOptions(write_detections=True)
RAY = BatchSettings(engine=BatchEngine.RAY, workers=2, segment_s=2.0)
TESTS = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """A two-CPU Ray instance on this machine; its workers import the tests' detectors from tests/."""
    saved = os.environ.get("PYTHONPATH")
    paths = [str(TESTS), str(TESTS.parent / "src"), *([saved] if saved else [])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_ray_gives_the_local_engines_detections_and_frames(ray_instance: None, tmp_path: Path) -> None:
    names = ["a.mp4", "b.mp4", "c.mp4"]
    for name, frames in zip(names, [150, 100, 30], strict=True):
        long_clip(tmp_path / "in", name, frames=frames)
    local = run_batch(
        [tmp_path / "in"], tmp_path / "local", CONFIG, JSON, BatchSettings(segment_s=2.0),
        detector=SquareDetector(),
    )  # fmt: skip
    on_ray = run_batch([tmp_path / "in"], tmp_path / "ray", CONFIG, JSON, RAY, detector=SquareDetector())
    assert local.failures == on_ray.failures == []
    assert [r.segments for r in on_ray.inputs] == [3, 2, 0]  # the short one went whole
    for name in names:
        stem = Path(name).stem
        left = (tmp_path / "local" / f"{stem}.detections.json").read_text(encoding="utf-8")
        right = (tmp_path / "ray" / f"{stem}.detections.json").read_text(encoding="utf-8")
        assert left == right
        assert presentation_times(tmp_path / "ray" / name) == presentation_times(tmp_path / "in" / name)
        assert _psnr(_frames(tmp_path / "local" / name), _frames(tmp_path / "ray" / name)) >= 45


def test_a_worker_killed_mid_run_is_retried_and_nothing_is_lost(ray_instance: None, tmp_path: Path) -> None:
    clip = long_clip(tmp_path / "in", frames=150)
    marker = tmp_path / "died"
    report = run_batch([clip], tmp_path / "out", CONFIG, JSON, RAY, detector=DyingDetector(marker, die_at=8))
    assert marker.exists()  # a worker did die
    (entry,) = report.inputs
    assert entry.state == "done" and entry.frames == 150
    assert presentation_times(tmp_path / "out" / clip.name) == presentation_times(clip)


def test_an_unreachable_address_fails_in_seconds(tmp_path: Path, free_port: Callable[[], int]) -> None:
    clip = long_clip(tmp_path / "in", frames=10, audio=False)
    settings = BatchSettings(engine=BatchEngine.RAY, address=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster"):
        run_batch([clip], tmp_path / "out", CONFIG, settings=settings, detector=SquareDetector())
    assert time.monotonic() - started < 10
