"""Keep an unsure face on a vehicle, or one the size of a vehicle, only when a second detector agrees.

Car rears, tail lights and grilles are what face detectors most often mistake for faces on road
footage, and such a face is hidden for a second or more once tracked. A face found on a vehicle with no
person around it, or one taking a large share of the frame, is looked at again by a second detector on a
close-up crop; it is kept only if that detector finds a face there too. Faces the first detector is
sure of, and every other face, pass untouched, so the tiny faces of crowds (which the second detector
often cannot confirm) keep their recall.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import ConfigError
from veil.geometry import clip_boxes, inside_fraction_matrix, iou_matrix, scale_boxes
from veil.types import Image, ObjectClass

__all__ = ["FaceEvidence"]

Boxes = npt.NDArray[np.float32]

# The crop around a suspect face is its box grown by its own size per side (head, shoulders, or the car
# around a false one), scaled so the face is about this many pixels across: within CenterFace's
# comfortable range, and a few milliseconds per crop.
_CONFIRM_FACE_PX = 64.0
_CONFIRM_MAX_UPSCALE = 4.0
_CONFIRM_CONTEXT_RATIO = 1.0
_SAME_FACE_IOU = 0.3


class FaceEvidence:
    """Find faces; drop the unsure ones on vehicles, or of vehicle size, that ``confirm`` does not see.

    A face is *suspect* when its score is in ``[min_score, sure_score)`` and either its box's short side
    is at least ``large_ratio`` of the image's short side, or at least ``on_vehicle_ratio`` of it lies on
    a vehicle ``bodies`` finds while less than ``with_person_ratio`` lies on a person. A suspect is kept
    when ``confirm`` finds a face scoring at least ``confirm_score`` at the same place (IoU > 0.3) in a
    crop around it. Faces below ``min_score`` are returned as they are: the policy drops them later.

    Args:
        faces: the face detector whose regions are checked.
        bodies: finds VEHICLE and PERSON regions (YOLOX; share it through a cache with the plate search).
        confirm: the second face detector run on the crops (CenterFace).
        min_score: the policy's face threshold.
        body_min_score: vehicles and persons scoring below this are ignored.
    """

    def __init__(
        self,
        faces: Detector,
        bodies: Detector,
        confirm: Detector,
        *,
        min_score: float,
        sure_score: float = 0.8,
        confirm_score: float = 0.2,
        on_vehicle_ratio: float = 0.4,
        with_person_ratio: float = 0.5,
        large_ratio: float = 0.25,
        body_min_score: float = 0.3,
    ) -> None:
        for name, value in (
            ("min_score", min_score),
            ("sure_score", sure_score),
            ("confirm_score", confirm_score),
            ("on_vehicle_ratio", on_vehicle_ratio),
            ("with_person_ratio", with_person_ratio),
            ("large_ratio", large_ratio),
            ("body_min_score", body_min_score),
        ):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}={value!r} is out of range [0, 1]")
        self.classes: frozenset[ObjectClass] = faces.classes
        self._faces = faces
        self._bodies = bodies
        self._confirm = confirm
        self._min_score = min_score
        self._sure_score = sure_score
        self._confirm_score = confirm_score
        self._on_vehicle_ratio = on_vehicle_ratio
        self._with_person_ratio = with_person_ratio
        self._large_ratio = large_ratio
        self._body_min_score = body_min_score

    def detect(self, image: Image) -> Detections:
        """Return the faces of ``image`` less the suspects the second detector does not confirm."""
        found = self._faces.detect(image)
        is_face = found.labels == ObjectClass.FACE
        unsure = is_face & (found.scores >= self._min_score) & (found.scores < self._sure_score)
        if not unsure.any():
            return found
        boxes = found.boxes_xyxy
        short_side = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        suspect = unsure & (short_side >= self._large_ratio * min(image.shape[:2]))
        if (unsure & ~suspect).any():
            suspect |= unsure & self._on_vehicle_alone(image, boxes)
        keep = np.ones(len(found), bool)
        for i in np.flatnonzero(suspect):
            keep[i] = self._confirmed(image, boxes[i])
        return found if keep.all() else found[keep]

    def _on_vehicle_alone(self, image: Image, boxes: Boxes) -> npt.NDArray[np.bool_]:
        bodies = self._bodies.detect(image)
        bodies = bodies[bodies.scores >= self._body_min_score]
        vehicles = bodies.of_class(ObjectClass.VEHICLE).boxes_xyxy
        if not len(vehicles):
            return np.zeros(len(boxes), bool)
        persons = bodies.of_class(ObjectClass.PERSON).boxes_xyxy
        on_share = inside_fraction_matrix(boxes, vehicles).max(axis=1)
        on_vehicle: npt.NDArray[np.bool_] = on_share >= self._on_vehicle_ratio
        if not len(persons):
            return on_vehicle
        with_person = inside_fraction_matrix(boxes, persons).max(axis=1) >= self._with_person_ratio
        alone: npt.NDArray[np.bool_] = on_vehicle & ~with_person
        return alone

    def _confirmed(self, image: Image, box: npt.NDArray[np.float32]) -> bool:
        height, width = image.shape[:2]
        grown = clip_boxes(scale_boxes(box[None], _CONFIRM_CONTEXT_RATIO), width, height)[0]
        x1, y1 = int(np.floor(grown[0])), int(np.floor(grown[1]))
        x2, y2 = max(x1 + 1, int(np.ceil(grown[2]))), max(y1 + 1, int(np.ceil(grown[3])))
        side = max(1.0, float(max(box[2] - box[0], box[3] - box[1])))
        factor = min(_CONFIRM_FACE_PX / side, _CONFIRM_MAX_UPSCALE)
        crop = np.ascontiguousarray(image[y1:y2, x1:x2])
        if factor != 1.0:
            size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
            interpolation = cv2.INTER_LINEAR if factor > 1.0 else cv2.INTER_AREA
            crop = np.ascontiguousarray(cv2.resize(crop, size, interpolation=interpolation), np.uint8)
        seen = self._confirm.detect(crop)
        seen = seen[(seen.labels == ObjectClass.FACE) & (seen.scores >= self._confirm_score)]
        if not len(seen):
            return False
        scale = np.array([(x2 - x1) / crop.shape[1], (y2 - y1) / crop.shape[0]] * 2, np.float32)
        back = seen.boxes_xyxy * scale + np.array([x1, y1, x1, y1], np.float32)
        return bool((iou_matrix(box[None], back)[0] > _SAME_FACE_IOU).any())
