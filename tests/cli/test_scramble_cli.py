"""``veil scramble`` then ``veil unscramble``: bit-exact on PNG and on video with audio; misuse refused."""

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
from veil.pipeline.config import PipelineConfig
from veil.pipeline.policy import apply_policy
from veil.regions import union_mask
from veil.types import ObjectClass

VEIL = Path(sys.executable).parent / "veil"
BOX = [10.0, 8.0, 40.0, 36.0]


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _regions(path: Path, width: int, height: int, frames: int, box: list[float] = BOX) -> Path:
    region = {"class": "face", "score": 0.9, "box": box, "track_id": 1, "origin": "detected"}
    entries = [{"index": i, "regions": [region]} for i in range(frames)]
    doc = {"format": "veil-detections/1", "width": width, "height": height, "frames": entries}
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def key(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    path = folder / "veil.key"
    path.write_bytes(os.urandom(32))
    return path


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "door.png"
    PILImage.fromarray(np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def _load(path: Path) -> np.ndarray:
    return np.asarray(PILImage.open(path).convert("RGB"))


def _scramble_picture(picture: Path, key: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out" / "door.scrambled.png"
    out.parent.mkdir(exist_ok=True)
    regions = _regions(tmp_path / "regions.json", 64, 48, 1)
    result = run("scramble", picture, "-o", out, "--key-file", key, "--from-detections", regions)
    assert result.returncode == 0, result.stderr
    return out


def test_a_png_comes_back_bit_exactly(picture: Path, key: Path, tmp_path: Path) -> None:
    out = _scramble_picture(picture, key, tmp_path)
    before, scrambled = _load(picture), _load(out)
    face = Detections.create([BOX], [0.9], ObjectClass.FACE)
    grown = apply_policy(face, PipelineConfig().policy, frozenset({ObjectClass.FACE}), before.shape[:2])
    inside = union_mask(grown, before.shape[:2])
    changed = (before != scrambled).any(axis=2)
    assert changed[inside].mean() > 0.95 and not changed[~inside].any()
    # Only the scrambled image and its encrypted region list lie beside the output: no key material.
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "door.scrambled.png",
        "door.scrambled.png.veil-regions",
    ]
    assert key.read_bytes() not in (out.parent / "door.scrambled.png.veil-regions").read_bytes()
    restored = tmp_path / "restored.png"
    result = run("unscramble", out, "-o", restored, "--key-file", key)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(_load(restored), before)


def test_a_video_with_audio_comes_back_bit_exactly(make_video: MakeVideo, key: Path, tmp_path: Path) -> None:
    src = make_video(name="clip.mp4", width=64, height=48, frames=12, audio=True)
    regions = _regions(tmp_path / "regions.json", 64, 48, 12)
    scrambled, restored = tmp_path / "scrambled.mkv", tmp_path / "restored.mkv"
    result = run("scramble", src, "-o", scrambled, "--key-file", key, "--from-detections", regions)
    assert result.returncode == 0, result.stderr
    result = run("unscramble", scrambled, "-o", restored, "--key-file", key)
    assert result.returncode == 0, result.stderr
    originals, mixed, back = (_frames(p) for p in (src, scrambled, restored))
    assert len(originals) == len(mixed) == len(back) == 12
    for index, (original, noisy, restored_frame) in enumerate(zip(originals, mixed, back, strict=True)):
        assert (noisy != original).any(), f"frame {index} was not scrambled"
        np.testing.assert_array_equal(restored_frame, original, err_msg=f"frame {index}")
    for path in (scrambled, restored):
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.name == "ffv1"
            assert len(container.streams.audio) == 1, f"{path.name} lost its audio"


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_a_lossy_image_output_is_refused(picture: Path, key: Path, tmp_path: Path, suffix: str) -> None:
    regions = _regions(tmp_path / "regions.json", 64, 48, 1)
    out = tmp_path / f"out{suffix}"
    result = run("scramble", picture, "-o", out, "--key-file", key, "--from-detections", regions)
    assert result.returncode == 2
    assert "lossless" in result.stderr and ".png" in result.stderr
    assert not out.exists()


def test_a_lossy_video_output_is_refused(make_video: MakeVideo, key: Path, tmp_path: Path) -> None:
    src = make_video(name="clip.mp4", frames=2)
    result = run("scramble", src, "-o", tmp_path / "out.mp4", "--key-file", key)
    assert result.returncode == 2 and ".mkv" in result.stderr


def test_a_wrong_key_is_refused(picture: Path, key: Path, tmp_path: Path) -> None:
    out = _scramble_picture(picture, key, tmp_path)
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(os.urandom(32))
    result = run("unscramble", out, "-o", tmp_path / "r.png", "--key-file", wrong)
    assert result.returncode == 2 and "wrong key" in result.stderr
    assert not (tmp_path / "r.png").exists()


def test_a_changed_pixel_is_refused(picture: Path, key: Path, tmp_path: Path) -> None:
    out = _scramble_picture(picture, key, tmp_path)
    pixels = _load(out).copy()
    pixels[20, 20, 1] ^= 1
    PILImage.fromarray(pixels).save(out)
    result = run("unscramble", out, "-o", tmp_path / "r.png", "--key-file", key)
    assert result.returncode == 4 and "pixels were changed" in result.stderr
    assert not (tmp_path / "r.png").exists()


def test_a_missing_region_list_is_refused(picture: Path, key: Path, tmp_path: Path) -> None:
    out = _scramble_picture(picture, key, tmp_path)
    (out.parent / (out.name + ".veil-regions")).unlink()
    result = run("unscramble", out, "-o", tmp_path / "r.png", "--key-file", key)
    assert result.returncode == 4 and "no region list" in result.stderr


def test_no_key_is_a_usage_error(picture: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VEIL_METHOD_KEY"}
    result = subprocess.run(
        [str(VEIL), "scramble", str(picture), "-o", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2 and "--key-file" in result.stderr


def test_the_key_may_come_from_the_environment(picture: Path, tmp_path: Path) -> None:
    env = {"VEIL_METHOD_KEY": "a passphrase of enough bytes"}
    regions = _regions(tmp_path / "regions.json", 64, 48, 1)
    out = tmp_path / "s.png"
    assert run("scramble", picture, "-o", out, "--from-detections", regions, env=env).returncode == 0
    assert run("unscramble", out, "-o", tmp_path / "r.png", env=env).returncode == 0
    np.testing.assert_array_equal(_load(tmp_path / "r.png"), _load(picture))
