"""Draw the README's pictures from public-domain media (scikit-image's ``astronaut``), never from test data.

python docs/make_pictures.py       # needs the models (VEIL_MODELS_DIR) and scikit-image
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

import veil
from veil.pipeline.config import Method, PipelineConfig

IMG = Path(__file__).resolve().parent / "img"
PANEL_PX = 320
COLUMNS = 5  # the whole method menu in two rows


def panel(image: np.ndarray, caption: str) -> Image.Image:
    """Return ``image`` shrunk to a panel with its caption underneath."""
    picture = Image.fromarray(image).resize((PANEL_PX, PANEL_PX), Image.Resampling.LANCZOS)
    framed = Image.new("RGB", (PANEL_PX, PANEL_PX + 24), "white")
    framed.paste(picture, (0, 0))
    ImageDraw.Draw(framed).text((6, PANEL_PX + 5), caption, fill="black")
    return framed


def main() -> None:
    astronaut = np.ascontiguousarray(data.astronaut())
    panels = [panel(astronaut, "original (public domain, NASA)")]
    for method in Method:
        hidden = veil.anonymize_image(astronaut, PipelineConfig(default_method=method))
        panels.append(panel(hidden, f"veil anonymize --method {method.value}"))
    rows = -(-len(panels) // COLUMNS)
    sheet = Image.new("RGB", (PANEL_PX * COLUMNS, (PANEL_PX + 24) * rows), "white")
    for i, item in enumerate(panels):
        sheet.paste(item, ((i % COLUMNS) * PANEL_PX, (i // COLUMNS) * (PANEL_PX + 24)))
    IMG.mkdir(exist_ok=True)
    sheet.save(IMG / "astronaut_methods.png", optimize=True)


if __name__ == "__main__":
    main()
