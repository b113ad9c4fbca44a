"""Face and plate detectors on the real models and the shared test photos: recall against stored floors.

Measured on the 4 dlib / PASCAL VOC images (18 annotated faces) and the 50 openalpr EU plate photos.
A face or plate counts as found when a detection overlaps its box with IoU ≥ 0.3 or contains its centre.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from veil.detection.centerface import CenterFaceDetector
from veil.detection.lpd_yunet import LpdYuNetDetector
from veil.detection.yunet import YuNetDetector
from veil.detections import Detections
from veil.geometry import iou_matrix
from veil.models.catalog import CATALOG
from veil.pipeline.config import DetectionConfig
from veil.types import Image, ObjectClass

pytestmark = pytest.mark.integration

CONFIG = DetectionConfig(intra_op_threads=2)

# Floors measured with onnxruntime 1.31 (CPU): both face detectors find all 18 faces, the weakest at
# score 0.81 (CenterFace) / 0.86 (YuNet). LPD-YuNet was trained on Chinese plates and sees the whole
# photo at 320×240: 27 of 50 EU plates at min_score 0.5, 42 at 0.3, 46 at 0.2.
FACE_RECALL_FLOOR = 18
PLATE_FLOORS = {0.5: 25, 0.3: 40}


@dataclass(frozen=True)
class Sample:
    name: str
    image: Image
    boxes_xyxy: npt.NDArray[np.float32]


def _rgb(path: Path) -> Image:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"cannot read {path}"
    return np.ascontiguousarray(bgr[:, :, ::-1])


@pytest.fixture(scope="module")
def faces(data_dir: Path) -> list[Sample]:
    folder = data_dir / "faces" / "dlib_pascal_voc"
    samples = []
    for node in ET.parse(folder / "training.xml").getroot().iter("image"):
        boxes = [[float(b.get(k, "0")) for k in ("left", "top", "width", "height")] for b in node.iter("box")]
        xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in boxes], np.float32)
        samples.append(Sample(node.get("file", ""), _rgb(folder / node.get("file", "")), xyxy))
    assert sum(len(s.boxes_xyxy) for s in samples) == 18
    return samples


@pytest.fixture(scope="module")
def plates(data_dir: Path) -> list[Sample]:
    folder = data_dir / "plates" / "openalpr_eu"
    samples = []
    for txt in sorted(folder.glob("*.txt")):
        name, x, y, w, h, _text = txt.read_text(encoding="utf-8").strip().split("\t")
        box = np.array([[float(x), float(y), float(x) + float(w), float(y) + float(h)]], np.float32)
        samples.append(Sample(name, _rgb(folder / name), box))
    assert len(samples) == 50
    return samples


def found_mask(truth: npt.NDArray[np.float32], detections: Detections) -> npt.NDArray[np.bool_]:
    """Return, per ground-truth box, whether a detection overlaps it (IoU ≥ 0.3) or holds its centre."""
    boxes = detections.boxes_xyxy
    if len(boxes) == 0:
        return np.zeros(len(truth), bool)
    overlap = (iou_matrix(truth, boxes) >= 0.3).any(axis=1)
    cx = (truth[:, 0] + truth[:, 2]) / 2
    cy = (truth[:, 1] + truth[:, 3]) / 2
    inside = (
        (boxes[None, :, 0] <= cx[:, None])
        & (cx[:, None] <= boxes[None, :, 2])
        & (boxes[None, :, 1] <= cy[:, None])
        & (cy[:, None] <= boxes[None, :, 3])
    ).any(axis=1)
    return np.asarray(overlap | inside, dtype=bool)


def recall(samples: list[Sample], detect: Callable[[Image], Detections]) -> int:
    return sum(int(found_mask(s.boxes_xyxy, detect(s.image)).sum()) for s in samples)


@pytest.fixture(scope="module")
def yunet(models_dir: Path) -> YuNetDetector:
    return YuNetDetector(models_dir / CATALOG["yunet"].filename, CONFIG)


@pytest.fixture(scope="module")
def centerface(models_dir: Path) -> CenterFaceDetector:
    return CenterFaceDetector(models_dir / CATALOG["centerface"].filename, CONFIG)


@pytest.fixture(scope="module")
def lpd(models_dir: Path) -> LpdYuNetDetector:
    return LpdYuNetDetector(models_dir / CATALOG["lpd_yunet"].filename, CONFIG, min_score=0.2)


def test_yunet_face_recall(yunet: YuNetDetector, faces: list[Sample]) -> None:
    assert recall(faces, yunet.detect) >= FACE_RECALL_FLOOR


def test_centerface_face_recall(centerface: CenterFaceDetector, faces: list[Sample]) -> None:
    assert recall(faces, centerface.detect) >= FACE_RECALL_FLOOR


@pytest.mark.parametrize("name", ["yunet", "centerface"])
def test_faces_found_with_confidence(
    name: str, yunet: YuNetDetector, centerface: CenterFaceDetector, faces: list[Sample]
) -> None:
    detector = yunet if name == "yunet" else centerface
    for sample in faces:
        found = detector.detect(sample.image)
        confident = found[found.scores >= 0.7]
        assert found_mask(sample.boxes_xyxy, confident).all(), sample.name
        assert set(found.labels) <= {ObjectClass.FACE}
        assert (found.boxes_xyxy[:, 2] <= sample.image.shape[1]).all()
        assert (found.boxes_xyxy[:, 3] <= sample.image.shape[0]).all()


def test_yunet_matches_opencv_face_detector_yn(models_dir: Path, faces: list[Sample]) -> None:
    # cv2.FaceDetectorYN runs the same file through OpenCV's DNN module with its own decoder.
    model = str(models_dir / CATALOG["yunet"].filename)
    ours = YuNetDetector(models_dir / CATALOG["yunet"].filename, CONFIG, min_score=0.5)
    for sample in faces:
        height, width = sample.image.shape[:2]
        reference = cv2.FaceDetectorYN.create(model, "", (width, height), 0.5, 0.3, 5000)
        _, rows = reference.detect(np.ascontiguousarray(sample.image[:, :, ::-1]))
        rows = np.zeros((0, 15), np.float32) if rows is None else rows[np.argsort(-rows[:, 14])]
        expected = np.concatenate([rows[:, 0:2], rows[:, 0:2] + rows[:, 2:4]], axis=1)
        found = ours.detect(sample.image)
        assert len(found) == len(rows), sample.name
        np.testing.assert_allclose(found.boxes_xyxy, expected, atol=0.5)
        np.testing.assert_allclose(found.scores, rows[:, 14], atol=1e-3)


def test_lpd_yunet_plate_recall_on_eu_plates(lpd: LpdYuNetDetector, plates: list[Sample]) -> None:
    detections = [lpd.detect(s.image) for s in plates]
    for min_score, floor in PLATE_FLOORS.items():
        hits = sum(
            int(found_mask(s.boxes_xyxy, d[d.scores >= min_score]).sum())
            for s, d in zip(plates, detections, strict=True)
        )
        assert hits >= floor, f"min_score {min_score}: {hits}/50"


def test_lpd_yunet_quads_are_ordered_and_tight(lpd: LpdYuNetDetector, plates: list[Sample]) -> None:
    checked = 0
    for sample in plates[:12]:
        found = lpd.detect(sample.image)
        for i in range(len(found)):
            quad = found.polygon(i)
            assert quad is not None and quad.shape == (4, 2)
            tl, tr, br, bl = quad
            assert tl[0] < tr[0] and bl[0] < br[0]  # left corners left of right corners
            assert tl[1] < bl[1] and tr[1] < br[1]  # top corners above bottom corners
            np.testing.assert_allclose(found.boxes_xyxy[i, :2], quad.min(axis=0))
            np.testing.assert_allclose(found.boxes_xyxy[i, 2:], quad.max(axis=0))
            checked += 1
        hit = found_mask(sample.boxes_xyxy, found)
        if hit.any():
            assert iou_matrix(sample.boxes_xyxy, found.boxes_xyxy).max() >= 0.5, sample.name
    assert checked >= 6


def test_lpd_yunet_finds_no_plates_in_group_photos(models_dir: Path, faces: list[Sample]) -> None:
    detector = LpdYuNetDetector(models_dir / CATALOG["lpd_yunet"].filename, CONFIG)
    assert sum(len(detector.detect(s.image)) for s in faces) == 0
