"""The method menu through the command line, the review loop (``--from-detections``) and the service form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image as PILImage

from conftest import MakeVideo
from veil.detections import Detections
from veil.pipeline.config import Method, PipelineConfig
from veil.pipeline.policy import apply_policy
from veil.regions import union_mask
from veil.service.options import build_config
from veil.types import ObjectClass

VEIL = Path(sys.executable).parent / "veil"
BOX = (8, 6, 40, 30)
MENU = ("cartoon", "false-colour", "warp", "abstraction", "token")


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _regions(path: Path, width: int, height: int, boxes: list[tuple[int, int, int, int]]) -> Path:
    frames = [
        {
            "index": i,
            "regions": [
                {"class": "person", "score": 0.9, "box": list(box), "track_id": 3, "origin": "detected"}
            ],
        }
        for i, box in enumerate(boxes)
    ]
    path.write_text(
        json.dumps({"format": "veil-detections/1", "width": width, "height": height, "frames": frames})
    )
    return path


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "scene.png"
    pixels = np.random.default_rng(5).integers(20, 230, (48, 64, 3), dtype=np.uint8)
    PILImage.fromarray(pixels).save(path)
    return path


def _load(path: Path) -> np.ndarray:
    return np.asarray(PILImage.open(path).convert("RGB"))


@pytest.mark.parametrize("method", MENU)
def test_each_method_hides_a_reviewed_region_and_nothing_else(
    picture: Path, tmp_path: Path, method: str
) -> None:
    regions = _regions(tmp_path / "regions.json", 64, 48, [BOX])
    out = tmp_path / f"{method}.png"
    result = run(
        "anonymize",
        picture,
        "-o",
        out,
        "--targets",
        "person",
        "--method",
        method,
        "--from-detections",
        regions,
    )
    assert result.returncode == 0, result.stderr
    before, after = _load(picture), _load(out)
    person = Detections.create([BOX], [0.9], ObjectClass.PERSON)
    grown = apply_policy(person, PipelineConfig().policy, frozenset({ObjectClass.PERSON}), before.shape[:2])
    inside = union_mask(grown, before.shape[:2])
    changed = (before != after).any(axis=2)
    assert changed[inside].all() and not changed[~inside].any()


def test_a_key_file_gives_the_same_token_in_every_run(picture: Path, tmp_path: Path) -> None:
    regions = _regions(tmp_path / "regions.json", 64, 48, [BOX])
    key = tmp_path / "veil.key"
    key.write_bytes(os.urandom(32))
    common = ("--targets", "person", "--method", "person=token", "--from-detections", regions)
    outs = [tmp_path / f"{n}.png" for n in range(3)]
    assert run("anonymize", picture, "-o", outs[0], *common, "--key-file", key).returncode == 0
    assert run("anonymize", picture, "-o", outs[1], *common, "--key-file", key).returncode == 0
    assert run("anonymize", picture, "-o", outs[2], *common).returncode == 0  # a random key of its own
    first, second, unkeyed = (_load(p) for p in outs)
    np.testing.assert_array_equal(first, second)
    assert (first != unkeyed).any()
    assert {p.name for p in tmp_path.iterdir()} == {
        "scene.png",
        "regions.json",
        "veil.key",
        "0.png",
        "1.png",
        "2.png",
    }


def test_a_short_key_file_is_a_usage_error(picture: Path, tmp_path: Path) -> None:
    key = tmp_path / "short.key"
    key.write_bytes(b"1234")
    regions = _regions(tmp_path / "regions.json", 64, 48, [BOX])
    result = run(
        "anonymize",
        picture,
        "-o",
        tmp_path / "o.png",
        "--method",
        "token",
        "--key-file",
        key,
        "--from-detections",
        regions,
    )
    assert result.returncode == 2 and "at least 16" in result.stderr


def test_an_unknown_method_lists_the_menu(picture: Path, tmp_path: Path) -> None:
    result = run("anonymize", picture, "-o", tmp_path / "o.png", "--method", "face=swirl")
    assert result.returncode == 2
    assert all(name in result.stderr for name in MENU)


def test_a_token_stays_put_on_its_track_through_a_video(make_video: MakeVideo, tmp_path: Path) -> None:
    src = make_video(name="clip.mkv", width=128, height=64, frames=8)
    # Away from the frame's edges: a box clipped by the edge is another box, and its stripes start elsewhere.
    boxes = [(20 + 5 * i, 16, 44 + 5 * i, 40) for i in range(8)]
    regions = _regions(tmp_path / "regions.json", 128, 64, boxes)
    out = tmp_path / "out.mkv"
    common = ("--targets", "person", "--method", "token", "--from-detections", regions, "--crf", "0")
    result = run(
        "anonymize", src, "-o", out, *common, env={"VEIL_METHOD_KEY": "a key of sixteen bytes or more"}
    )
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    # The stripes are laid out from the box's corner: the same pattern in every frame, up to coding error.
    patches = [
        f[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2].astype(np.int16)
        for f, (x1, y1, x2, y2) in zip(frames, boxes, strict=True)
    ]
    for index, patch in enumerate(patches[1:], start=1):
        assert np.abs(patch - patches[0]).mean() < 8, f"frame {index}: the token changed"


@pytest.mark.parametrize("name", MENU)
def test_the_service_form_takes_every_method(name: str) -> None:
    config = build_config({"method": f"face={name}"})
    assert config.method_for(ObjectClass.FACE) is Method(name)
