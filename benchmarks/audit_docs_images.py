"""Make the pictures of docs/audit.md from public-domain input only (skimage's ``astronaut``).

    python benchmarks/audit_docs_images.py         # writes docs/img/audit_astronaut.png

The astronaut photo is anonymized with Veil's defaults, audited against the original, and the
report's before/after thumbnails of the riskiest frame are stacked into one picture.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from skimage import data

from veil.api import anonymize_image
from veil.evaluation.audit import audit_paths
from veil.evaluation.audit_options import AuditOptions
from veil.pipeline.config import PipelineConfig

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "img" / "audit_astronaut.png"


def main() -> None:
    """Anonymize and audit the astronaut, then save the thumbnail pair."""
    models = Path(os.environ.get("VEIL_MODELS_DIR", REPO.parent / "shared" / "models"))
    original = np.ascontiguousarray(data.astronaut(), np.uint8)
    anonymized = anonymize_image(original, PipelineConfig(models_dir=models))
    with tempfile.TemporaryDirectory() as tmp:
        before, after = Path(tmp) / "before" / "astronaut.png", Path(tmp) / "after" / "astronaut.png"
        for path, image in ((before, original), (after, anonymized)):
            path.parent.mkdir()
            PILImage.fromarray(image).save(path)
        report = audit_paths(after.parent, before.parent, AuditOptions(models_dir=models))
    worst = report.worst[0]
    PILImage.fromarray(np.concatenate([worst.before, worst.after], axis=0)).save(OUT, optimize=True)
    face = report.summary(next(iter(c for c in report.classes() if c.value == "face")))
    print(f"wrote {OUT}: faces found {face.items}, leaked {face.leaked}, detail left {face.detail_max}")


if __name__ == "__main__":
    main()
