"""The service with the real models (VEIL_MODELS_DIR): a synchronous photo and a queued video job."""

from __future__ import annotations

import io
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from veil.service import ServiceSettings, create_app
from veil.service.keys import Scope
from veil.service.worker import Worker

pytestmark = pytest.mark.integration


def test_real_models_anonymize_a_photo_and_a_video_job(
    models_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    photo = sorted((data_dir / "faces" / "dlib_pascal_voc").glob("*.jpg"))[0]
    clip = tmp_path / "dashcam.mp4"
    with (
        av.open(str(data_dir / "video" / "dashcam_highway_640x360.mp4")) as src,
        av.open(str(clip), "w") as out,
    ):
        stream = out.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for index, frame in enumerate(src.decode(video=0)):
            if index == 8:
                break
            out.mux(
                stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24"))
            )
        out.mux(stream.encode(None))
    settings = ServiceSettings(data_dir=tmp_path / "data", workers=0)  # the default, real pipeline factory
    with TestClient(create_app(settings)) as client:
        state = client.app.state.veil.state  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {state.keys.create('it', frozenset(Scope), 'acme').token}"}
        response = client.post(
            "/v1/images:anonymize", headers=headers, files={"file": (photo.name, photo.read_bytes())}
        )
        assert response.status_code == 200, response.text
        before = np.asarray(PILImage.open(photo).convert("RGB"))
        after = np.asarray(PILImage.open(io.BytesIO(response.content)).convert("RGB"))
        assert after.shape == before.shape
        assert np.abs(after.astype(int) - before.astype(int)).max() > 60  # some face was hidden
        with clip.open("rb") as handle:
            job = client.post(
                "/v1/jobs",
                headers=headers,
                files={"file": ("dashcam.mp4", handle)},
                data={"operation": "object-mask"},
            ).json()
        assert Worker(state, os.getppid()).run_one()
        status = client.get(f"/v1/jobs/{job['id']}", headers=headers).json()
        assert status["state"] == "succeeded", status
        report = client.get(f"/v1/jobs/{job['id']}/report", headers=headers).json()
        assert report["frames_written"] == report["frames_anonymized"] == 8 and report["frames_detected"] >= 1
