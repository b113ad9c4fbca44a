"""``veil stream`` with real models on a live loopback stream made from the shared PETS clip."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from veil.cli.main import cli
from veil.live.loopback import StreamSender

FRAMES = 30  # three seconds at the clip's 10 fps


@pytest.mark.integration
def test_stream_cli_anonymizes_a_live_tcp_stream(
    models_dir: Path, data_dir: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    out = tmp_path / "live.ts"
    sender = StreamSender(
        data_dir / "video" / "vtest_pets_480x360.avi", f"tcp://127.0.0.1:{port}", max_frames=FRAMES
    )
    sender.start()
    try:
        result = CliRunner().invoke(
            cli,
            [
                "stream",
                f"tcp://127.0.0.1:{port}?listen=1",
                "-o",
                str(out),
                "--targets",
                "person",
                "--models-dir",
                str(models_dir),
                "--open-timeout",
                "20",
                "--json",
            ],
        )
    finally:
        sender.stop()
        sender.join(20)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # --json: the report alone on stdout
    assert f"frames sent to {out}" in result.stderr
    assert report["frames_read"] == FRAMES
    assert report["frames_read"] == report["frames_anonymized"] + report["frames_dropped"]
    assert report["frames_written"] == report["frames_anonymized"] > FRAMES // 2
    assert report["frames_detected"] >= 1
    assert report["regions"]["person"] >= report["frames_anonymized"]  # several walkers on every frame
    with av.open(str(out)) as container:
        times = [float(f.time) for f in container.decode(video=0) if f.time is not None]
    assert len(times) == report["frames_written"]
    assert times == sorted(set(times))
    assert all(abs((t - times[0]) * 10 - round((t - times[0]) * 10)) < 0.01 for t in times)
