"""Run the face and plate attacks over an annotated image set and record, per object, what leaked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from veil.errors import ConfigError, UnsupportedFrameError
from veil.evaluation.datasets import AnnotatedImage, BoxXYXY, load_rgb
from veil.evaluation.face_attack import FaceAttacker, FaceReDetector
from veil.evaluation.ocr_attack import PlateReader, PlateReading, is_read, plate_similarity
from veil.types import Image

__all__ = ["FaceOutcome", "PlateOutcome", "attack_faces", "attack_plates"]


@dataclass(frozen=True)
class FaceOutcome:
    """What the face attack achieved on one annotated face.

    Args:
        image_name: file name of the image.
        index: the face's position among its image's annotations.
        box_xyxy: the annotated box.
        scores: per attacker, the best score of a detection that found the face (0.0: not found).
    """

    image_name: str
    index: int
    box_xyxy: BoxXYXY
    scores: Mapping[FaceAttacker, float]

    def found_by(self, attacker: FaceAttacker) -> bool:
        """Return whether ``attacker`` found this face."""
        return self.scores.get(attacker, 0.0) > 0.0

    @property
    def found(self) -> bool:
        """Return whether any attacker found this face."""
        return any(self.found_by(a) for a in self.scores)


@dataclass(frozen=True)
class PlateOutcome:
    """What the plate attack achieved on one annotated plate.

    Args:
        image_name: file name of the image.
        index: the plate's position among its image's annotations.
        box_xyxy: the annotated box.
        truth: the annotated plate text.
        reading: the reading closest to ``truth`` among those the reader made.
    """

    image_name: str
    index: int
    box_xyxy: BoxXYXY
    truth: str
    reading: PlateReading

    @property
    def similarity(self) -> float:
        """Return how close the reading is to the truth (1.0: identical after normalizing)."""
        return plate_similarity(self.reading.text, self.truth)

    @property
    def read(self) -> bool:
        """Return whether the reading gives the plate away."""
        return is_read(self.reading.text, self.truth)


def attack_faces(items: Sequence[AnnotatedImage], detector: FaceReDetector) -> list[FaceOutcome]:
    """Run ``detector`` on every image of ``items`` and return one outcome per annotated face."""
    outcomes: list[FaceOutcome] = []
    for item in items:
        hits = detector.attack(_load_checked(item), item.boxes)
        for index, box in enumerate(item.boxes_xyxy):
            scores = {attacker: per_face[index] for attacker, per_face in hits.scores.items()}
            outcomes.append(FaceOutcome(item.image_path.name, index, box, MappingProxyType(scores)))
    return outcomes


def attack_plates(items: Sequence[AnnotatedImage], reader: PlateReader) -> list[PlateOutcome]:
    """Read every annotated plate of ``items`` with ``reader`` and return one outcome per plate.

    Raises:
        ConfigError: an annotated plate has no text to compare against.
    """
    outcomes: list[PlateOutcome] = []
    for item in items:
        image = _load_checked(item)
        for index, (box, truth) in enumerate(zip(item.boxes_xyxy, item.texts, strict=True)):
            if not truth:
                raise ConfigError(f"{item.image_path.name}: plate {index} has no annotated text")
            reading = reader.best_reading(image, box, truth)
            outcomes.append(PlateOutcome(item.image_path.name, index, box, truth, reading))
    return outcomes


def _load_checked(item: AnnotatedImage) -> Image:
    image = load_rgb(item.image_path)
    if item.size_wh is not None and (image.shape[1], image.shape[0]) != item.size_wh:
        raise UnsupportedFrameError(
            f"{item.image_path} is {image.shape[1]}×{image.shape[0]} but its annotation says "
            f"{item.size_wh[0]}×{item.size_wh[1]}: the boxes would not line up"
        )
    return image
