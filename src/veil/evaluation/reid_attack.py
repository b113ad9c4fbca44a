"""Re-identify persons after anonymization with Intel's person-reidentification-retail-0248 embedding.

The attacker holds the original crops (a gallery of distinct people) and asks, for each anonymized
crop, which original person it is nearest to. Rank-1 accuracy well above chance means the
anonymized crops still carry identity (clothes, build, gait pose), whatever happened to the face.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.onnx_session import create_session
from veil.detection.settings import DetectionConfig
from veil.errors import ModelError
from veil.evaluation.image_metrics import box_slices
from veil.models.store import resolve_model
from veil.types import Image

__all__ = ["EMBEDDING_DIM", "REID_MODEL_KEY", "PersonEmbedder", "chance_rank1", "rank1_hits"]

REID_MODEL_KEY = "reid_0248"
EMBEDDING_DIM = 256

_INPUT_HW = (256, 128)  # the model's NHWC input: a person crop resized to 128 wide, 256 tall
# A query only counts as re-identified when its true match beats every other gallery entry by more
# than float noise: identical embeddings (every crop blacked out) give the attacker nothing.
_TIE_TOLERANCE = 1e-5


class PersonEmbedder:
    """Turn person crops into L2-normalized 256-d identity embeddings.

    Args:
        models_dir: folder with the model files (else ``VEIL_MODELS_DIR``, then the cache).
        detection: ONNX Runtime settings.
    """

    def __init__(self, models_dir: Path | None = None, detection: DetectionConfig | None = None) -> None:
        self._session = create_session(
            resolve_model(REID_MODEL_KEY, models_dir), detection or DetectionConfig()
        )
        self._input_name: str = self._session.get_inputs()[0].name
        shape = tuple(self._session.get_inputs()[0].shape)
        if shape[1:] != (*_INPUT_HW, 3):
            raise ModelError(f"{REID_MODEL_KEY}: expected an NHWC input of 256×128×3, the model has {shape}")

    def embed(self, image: Image, boxes_xyxy: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Return one unit-length embedding per box of ``image`` (RGB), as an (N, 256) array.

        A box wholly outside the image gets the zero vector, which matches nothing.
        """
        boxes = np.asarray(boxes_xyxy, np.float32).reshape(-1, 4)
        out = np.zeros((len(boxes), EMBEDDING_DIM), np.float32)
        for row, box in enumerate(boxes):
            where = box_slices(box, image.shape[:2])
            if where is None:
                continue
            crop = cv2.resize(image[where], (_INPUT_HW[1], _INPUT_HW[0]), interpolation=cv2.INTER_LINEAR)
            blob = np.ascontiguousarray(crop[:, :, ::-1], np.float32)[None]  # RGB → BGR, 0–255
            (vector,) = self._session.run(None, {self._input_name: blob})
            flat = np.asarray(vector, np.float32).reshape(-1)
            norm = float(np.linalg.norm(flat))
            if norm > 0:
                out[row] = flat / norm
        return out


def rank1_hits(queries: npt.NDArray[np.float32], gallery: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Return, per query i, whether gallery entry i is strictly the most similar (cosine) gallery entry.

    ``queries`` and ``gallery`` are (N, D) unit vectors of the same N people in the same order.
    """
    q = np.asarray(queries, np.float32).reshape(len(queries), -1)
    g = np.asarray(gallery, np.float32).reshape(len(gallery), -1)
    if q.shape != g.shape:
        raise ValueError(f"queries {q.shape} and gallery {g.shape} must describe the same people")
    if len(q) == 0:
        return np.zeros(0, bool)
    similarity = q @ g.T
    own = np.diag(similarity).copy()
    np.fill_diagonal(similarity, -np.inf)
    best_other = similarity.max(axis=1) if len(q) > 1 else np.full(len(q), -np.inf)
    hits: npt.NDArray[np.bool_] = own > best_other + _TIE_TOLERANCE
    return hits


def chance_rank1(gallery_sizes: Sequence[int]) -> float:
    """Return the rank-1 accuracy of guessing, pooled over queries in galleries of these sizes.

    Each of a gallery's n queries is right by chance with probability 1/n, so a gallery contributes one
    expected hit: the pooled rate is the number of galleries over the number of queries.
    """
    sizes = [n for n in gallery_sizes if n > 0]
    return len(sizes) / sum(sizes) if sizes else 0.0
