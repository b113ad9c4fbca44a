"""Acceptance: a plate photographed close up is hidden, however large it is in the picture.

Each of the 50 annotated openalpr_eu plates is cut out with some of its car around it and pasted, enlarged,
so the plate spans 15 %, 30 % or 50 % of a 960-px-wide picture, on a plain grey wall or a procedural
street. The car is then too cut off (or too large) for the vehicle detector, which is the case the
whole-image text search exists for. The OCR attack first reads the plates on the pictures, so a broken
attack cannot pass; after ``anonymize_path`` at defaults it must read none.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from veil.api import anonymize_path
from veil.evaluation.datasets import AnnotatedImage, read_openalpr_dir
from veil.evaluation.ocr_attack import PlateReader
from veil.evaluation.privacy import attack_plates
from veil.pipeline.config import PipelineConfig
from veil.types import ObjectClass

pytestmark = pytest.mark.integration

PLATES = Path("plates") / "openalpr_eu"
WIDTH, HEIGHT = 960, 640
PLATE_WIDTH_SHARES = (0.15, 0.3, 0.5)
CONTEXT_RATIO = 0.3  # of the plate's width and height kept around it on every side
MIN_READ_ON_ORIGINALS = 48  # measured: the attack reads 49-50 of the 50 pasted plates


def _street() -> npt.NDArray[np.uint8]:
    rows = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None]
    grey = np.where(rows < 0.4, 200 - 40 * rows, 90 + 30 * rows)
    picture = np.repeat(np.broadcast_to(grey, (HEIGHT, WIDTH))[:, :, None], 3, axis=2).astype(np.uint8)
    for x in range(0, WIDTH, 160):  # lane marks, so the background has edges of its own
        cv2.line(picture, (x, HEIGHT - 40), (x + 80, HEIGHT - 40), (235, 235, 235), 6)
    return picture


def _close_up(item: AnnotatedImage, share: float, street: bool, dst: Path) -> AnnotatedImage:
    photo = cv2.cvtColor(cv2.imread(str(item.image_path)), cv2.COLOR_BGR2RGB)
    x1, y1, x2, y2 = (int(v) for v in item.boxes_xyxy[0])
    mx, my = int((x2 - x1) * CONTEXT_RATIO), int((y2 - y1) * CONTEXT_RATIO)
    cx1, cy1 = max(0, x1 - mx), max(0, y1 - my)
    crop = photo[cy1 : y2 + my, cx1 : x2 + mx]
    scale = share * WIDTH / (x2 - x1)
    size = (min(WIDTH, round(crop.shape[1] * scale)), min(HEIGHT, round(crop.shape[0] * scale)))
    big = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)
    canvas = _street() if street else np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    ox, oy = (WIDTH - big.shape[1]) // 2, (HEIGHT - big.shape[0]) // 2
    canvas[oy : oy + big.shape[0], ox : ox + big.shape[1]] = big
    px, py = ox + (x1 - cx1) * scale, oy + (y1 - cy1) * scale
    box = (px, py, min(WIDTH, px + (x2 - x1) * scale), min(HEIGHT, py + (y2 - y1) * scale))
    cv2.imwrite(str(dst), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    return AnnotatedImage(dst, (box,), ObjectClass.LICENSE_PLATE, item.texts)


def test_close_up_plates_at_every_size_are_hidden(data_dir: Path, models_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "close_ups"
    src.mkdir()
    items = [
        _close_up(item, PLATE_WIDTH_SHARES[n % 3], street=n % 2 == 1, dst=src / f"{item.image_path.stem}.png")
        for n, item in enumerate(read_openalpr_dir(data_dir / PLATES))
    ]
    reader = PlateReader()
    before = attack_plates(items, reader)
    assert sum(o.read for o in before) >= MIN_READ_ON_ORIGINALS, "the OCR attack is broken"

    out = tmp_path / "out"
    report = anonymize_path(src, out, PipelineConfig(models_dir=models_dir))
    assert not report.failures, report.failures
    after = attack_plates([item.rebased(src, out) for item in items], reader)
    leaks = [f"{o.image_name}: {o.reading.text!r} for {o.truth}" for o in after if o.read]
    assert not leaks, f"{len(leaks)} of {len(items)} close-up plates read: {leaks}"
