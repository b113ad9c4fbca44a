"""Draw docs/img/removal_before_after.jpg: a synthetic walker removed from a panning shot.

The background is scikit-image's public-domain ``astronaut`` photo, seen through a window that pans
2 px a frame; a drawn figure walks across it. Top row: input frames; bottom row: Veil's removal
(the moving-camera path: colour carried along optical flow from frames where the figure is elsewhere).

Run: .venv/bin/python benchmarks/removal_docs_image.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from veil.removal.engine import FilledFrame, WindowFiller
from veil.types import Frame

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "removal_before_after.jpg"
WIDTH, HEIGHT, FRAMES = 384, 288, 40
SHOWN = (8, 20, 32)


def figure(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the walker's RGB layer and mask on frame ``t`` (head, body, swinging legs)."""
    layer = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    x, y = 20 + 8 * t, 120
    swing = int(14 * np.sin(t * 0.8))
    for canvas, colour in ((layer, (40, 60, 160)), (mask, 255)):
        cv2.circle(canvas, (x + 20, y + 12), 12, colour, -1)
        cv2.rectangle(canvas, (x + 6, y + 26), (x + 34, y + 90), colour, -1)
        cv2.line(canvas, (x + 14, y + 88), (x + 14 + swing, y + 140), colour, 9)
        cv2.line(canvas, (x + 26, y + 88), (x + 26 - swing, y + 140), colour, 9)
    stripes = (np.arange(HEIGHT)[:, None] // 6 % 2 * 60).astype(np.uint8)
    layer[..., 0] = np.where(mask > 0, np.clip(layer[..., 0] + stripes, 0, 255), 0)
    return layer, mask > 0


def main() -> None:
    photo = data.astronaut()
    filler = WindowFiller(window_radius=12)
    inputs: dict[int, np.ndarray] = {}
    done: list[FilledFrame] = []
    for t in range(FRAMES):
        x0 = 40 + 2 * t
        image = np.ascontiguousarray(photo[150 : 150 + HEIGHT, x0 : x0 + WIDTH])
        layer, mask = figure(t)
        image[mask] = layer[mask]
        inputs[t] = image
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        done += filler.push(Frame(image=image, index=t), grown)
    done += filler.flush()
    outputs = {d.frame.index: d.image for d in done}
    gap = np.full((HEIGHT, 6, 3), 255, np.uint8)
    rows = []
    for source in (inputs, outputs):
        tiles = []
        for t in SHOWN:
            tiles += [source[t], gap]
        rows.append(np.concatenate(tiles[:-1], axis=1))
    sheet = np.concatenate([rows[0], np.full((6, rows[0].shape[1], 3), 255, np.uint8), rows[1]], axis=0)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # JPEG: the textured astronaut shot is over 1 MB as PNG.
    cv2.imwrite(str(OUT), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(OUT)


if __name__ == "__main__":
    main()
