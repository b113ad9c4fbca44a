"""dlib's 68-point face landmarks and face embedding, from the ``face_recognition_models`` package."""

from __future__ import annotations

import importlib.util
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from veil.errors import MissingExtraError, ModelNotFoundError
from veil.types import Image

__all__ = ["FaceLandmarker", "face_model_path"]

Points = npt.NDArray[np.float32]

_PACKAGE = "face_recognition_models"
_INSTALL = "pip install 'veil[expression]' (dlib-bin and face_recognition_models)"
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
EMBEDDING = "dlib_face_recognition_resnet_model_v1.dat"


def _dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise MissingExtraError(f"face landmarks need dlib: {_INSTALL}", extra="expression") from None
    return dlib


def face_model_path(name: str) -> Path:
    """Return the path of model file ``name`` inside the installed ``face_recognition_models`` package.

    The package is located without importing it: its ``__init__`` needs setuptools' pkg_resources.

    Raises:
        MissingExtraError: the package is not installed.
        ModelNotFoundError: it is, but lacks the file.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"face landmarks need the {_PACKAGE} package: {_INSTALL}", extra="expression")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path} is missing: reinstall it with pip install --force-reinstall {_PACKAGE}"
        )
    return path


@cache
def _models(name: str) -> Any:
    dlib = _dlib()
    path = str(face_model_path(name))
    if name == EMBEDDING:
        return dlib.face_recognition_model_v1(path)
    return dlib.shape_predictor(path)


@cache
def _frontal_detector() -> Any:
    # Building dlib's HOG detector takes about as long as loading the landmark model: once per process.
    return _dlib().get_frontal_face_detector()


class FaceLandmarker:
    """Find 68 landmarks (iBUG 300-W layout) in a face box, and dlib's 128-d identity embedding.

    dlib's models are not documented as safe to share between threads; one lock serializes them.
    """

    _lock = threading.Lock()

    def __init__(self) -> None:
        self._dlib = _dlib()
        self._predictor = _models(LANDMARKS_68)
        self._detector = _frontal_detector()

    def landmarks(self, image: Image, box_xyxy: npt.ArrayLike) -> Points:
        """Return the (68, 2) landmark points, in image pixels, of the face in box ``box_xyxy``."""
        x1, y1, x2, y2 = (round(float(v)) for v in np.asarray(box_xyxy, np.float64).reshape(4))
        rect = self._dlib.rectangle(x1, y1, max(x2, x1 + 1), max(y2, y1 + 1))
        with self._lock:
            shape = self._predictor(np.ascontiguousarray(image), rect)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float32)

    def tight_box(self, image: Image, box_xyxy: npt.ArrayLike) -> npt.NDArray[np.float32] | None:
        """Return dlib's own face box inside ``box_xyxy`` (its landmark model's training boxes), or None."""
        x1, y1, x2, y2 = (round(float(v)) for v in np.asarray(box_xyxy, np.float64).reshape(4))
        height, width = image.shape[:2]
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
        if x2 - x1 < 8 or y2 - y1 < 8:
            return None
        crop = np.ascontiguousarray(image[y1:y2, x1:x2])
        # dlib's HOG finds faces of 80 px and more; smaller crops are upsampled once.
        upsample = 1 if max(x2 - x1, y2 - y1) < 160 else 0
        with self._lock:
            found = self._detector(crop, upsample)
        if not found:
            return None
        best = max(found, key=lambda r: r.area())
        return np.array(
            [x1 + best.left(), y1 + best.top(), x1 + best.right(), y1 + best.bottom()], np.float32
        )

    def embedding(self, image: Image, box_xyxy: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return dlib's 128-d face embedding of the face in ``box_xyxy`` (same person: distance < 0.6)."""
        x1, y1, x2, y2 = (round(float(v)) for v in np.asarray(box_xyxy, np.float64).reshape(4))
        rect = self._dlib.rectangle(x1, y1, max(x2, x1 + 1), max(y2, y1 + 1))
        model = _models(EMBEDDING)
        with self._lock:
            shape = self._predictor(np.ascontiguousarray(image), rect)
            vector = model.compute_face_descriptor(np.ascontiguousarray(image), shape)
        return np.asarray(vector, np.float64)
