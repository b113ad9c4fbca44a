"""Expression-keeping faces on the 18 shared faces: identity gone, face, pose and expression kept.

The issue's three measured lines: dlib's ResNet embedding (the identity attack) puts each redrawn
face's nearest original at chance and every one farther than dlib's same-person distance (0.6) from
its own original; the audit's face attack (YuNet and CenterFace, 1× and 2×) still finds at least 90 %
of them; and YuNet's 5 landmarks on the output lie within 10 % of the face size of those on the original.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from veil.anonymizers.expression import ExpressionKeeping
from veil.anonymizers.face_landmarks import FaceLandmarker
from veil.detections import Detections
from veil.evaluation.datasets import load_rgb, read_dlib_xml
from veil.evaluation.face_attack import FaceReDetector
from veil.geometry import iou_matrix
from veil.pipeline.config import PrivacyPolicy
from veil.pipeline.policy import apply_policy
from veil.types import Image, ObjectClass

pytestmark = pytest.mark.integration

FACES = 18
SAME_PERSON_DISTANCE = 0.6  # dlib's threshold for its ResNet embedding
# Chance puts 1 of 18 faces nearest their own original; 4 or more would happen by chance 1.5 % of the time.
MAX_NEAREST_OWN = 3
MIN_FOUND_SHARE = 0.9
MAX_LANDMARK_ERROR = 0.10  # share of the face's size (square root of its box area)
YUNET_FILE = "face_detection_yunet_2026may.onnx"


def _yunet_points(model: Path, rgb: Image) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    detector = cv2.FaceDetectorYN.create(str(model), "", (bgr.shape[1], bgr.shape[0]), 0.3, 0.3, 5000)
    _, faces = detector.detect(bgr)
    if faces is None:
        return np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32)
    boxes = np.asarray(faces[:, :4], np.float32)
    boxes[:, 2:] += boxes[:, :2]
    return boxes, np.asarray(faces[:, 4:14], np.float32).reshape(-1, 5, 2)


@pytest.fixture(scope="module")
def measured(data_dir: Path, models_dir: Path) -> dict[str, list[float]]:
    """Per annotated face: found again, distance to each original, landmark error (NaN: not found)."""
    items = read_dlib_xml(data_dir / "faces" / "dlib_pascal_voc" / "training.xml")
    landmarker = FaceLandmarker()
    method = ExpressionKeeping(landmarker)
    attacker = FaceReDetector(models_dir)
    originals, redrawn, found, errors = [], [], [], []
    for item in items:
        rgb, boxes = load_rgb(item.image_path), item.boxes
        faces = Detections.create(boxes, np.ones(len(boxes)), ObjectClass.FACE)
        grown = apply_policy(
            faces, PrivacyPolicy(margin_ratio=0.15), frozenset({ObjectClass.FACE}), rgb.shape[:2]
        )
        out = method.apply(rgb, grown)
        found += [float(f) for f in attacker.attack(out, boxes).found_by_any()]
        before, after = (
            _yunet_points(models_dir / YUNET_FILE, rgb),
            _yunet_points(models_dir / YUNET_FILE, out),
        )
        for box in boxes:
            originals.append(landmarker.embedding(rgb, box))
            redrawn.append(landmarker.embedding(out, box))
            errors.append(_landmark_error(box, before, after))
    distances = np.linalg.norm(np.array(redrawn)[:, None] - np.array(originals)[None], axis=2)
    return {
        "found": found,
        "own": np.diag(distances).tolist(),
        "nearest_is_own": (distances.argmin(axis=1) == np.arange(len(originals))).astype(float).tolist(),
        "landmark_error": errors,
    }


def _landmark_error(
    box: npt.NDArray[np.float32],
    before: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
    after: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
) -> float:
    """Return YuNet's mean 5-point distance, output to original, over the face size (NaN: unmatched)."""
    matches = []
    for boxes, points in (before, after):
        overlap = iou_matrix(box[None], boxes)[0] if len(boxes) else np.zeros(0)
        if not len(overlap) or overlap.max() < 0.3:
            return float("nan")
        matches.append(points[int(overlap.argmax())])
    size = float(np.sqrt((box[2] - box[0]) * (box[3] - box[1])))
    return float(np.linalg.norm(matches[0] - matches[1], axis=1).mean() / size)


def test_all_eighteen_faces_are_measured(measured: dict[str, list[float]]) -> None:
    assert all(len(values) == FACES for values in measured.values())


def test_no_redrawn_face_is_the_same_person(measured: dict[str, list[float]]) -> None:
    own = measured["own"]
    assert min(own) > SAME_PERSON_DISTANCE, f"distances to their own originals: {np.round(own, 3).tolist()}"


def test_the_nearest_identity_is_at_chance(measured: dict[str, list[float]]) -> None:
    assert sum(measured["nearest_is_own"]) <= MAX_NEAREST_OWN


def test_a_face_detector_still_finds_the_faces(measured: dict[str, list[float]]) -> None:
    assert sum(measured["found"]) >= MIN_FOUND_SHARE * FACES


def test_pose_and_expression_survive(measured: dict[str, list[float]]) -> None:
    errors = np.array(measured["landmark_error"])
    matched = errors[~np.isnan(errors)]
    assert len(matched) >= MIN_FOUND_SHARE * FACES, "YuNet lost the faces it needs to measure landmarks"
    # The 5 points over every face measured (normalized mean error, the usual landmark measure).
    assert matched.mean() <= MAX_LANDMARK_ERROR, f"landmark errors: {np.round(errors, 3).tolist()}"
    print(f"landmark error: mean {matched.mean():.3f}, within 10 % on {int((matched <= 0.1).sum())} faces")
