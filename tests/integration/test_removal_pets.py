"""Object removal on real footage: after removing persons, YOLOX finds none where it found them."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from veil.detection.yolox import YoloxDetector
from veil.pipeline.config import DetectionConfig
from veil.removal import RemovalSettings, remove_dynamic_object
from veil.types import ObjectClass

pytestmark = pytest.mark.integration

FRAMES = 60


def _first_frames(src: Path, dst: Path, count: int) -> list[np.ndarray]:
    """Copy the first ``count`` frames of ``src`` into ``dst`` (near-lossless) and return them."""
    images = []
    with av.open(str(src)) as container, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=10, options={"crf": "12", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 480, 360, "yuv420p"
        for frame in container.decode(video=0):
            if len(images) == count:
                break
            image = frame.to_ndarray(format="rgb24")
            images.append(image)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return images


def test_no_person_is_found_after_removing_persons_on_pets(
    tmp_path: Path, models_dir: Path, data_dir: Path
) -> None:
    src = tmp_path / "pets.mp4"
    before = _first_frames(data_dir / "video" / "vtest_pets_480x360.avi", src, FRAMES)
    dst = tmp_path / "pets.clean.mp4"
    settings = RemovalSettings(targets=frozenset({ObjectClass.PERSON}), models_dir=models_dir)
    report = remove_dynamic_object(src, dst, settings)
    assert report.frames_written == FRAMES
    assert report.still_frames == FRAMES  # a fixed camera: every frame takes the background plate
    with av.open(str(dst)) as container:
        after = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(after) == FRAMES
    yolox = YoloxDetector(models_dir / "yolox_nano.onnx", DetectionConfig(), min_score=0.3)
    found_before = sum(len(yolox.detect(image).of_class(ObjectClass.PERSON)) for image in before)
    found_after = sum(len(yolox.detect(image).of_class(ObjectClass.PERSON)) for image in after)
    assert found_before > 5 * FRAMES  # the clip shows 5-10 pedestrians on every frame
    assert found_after == 0
