"""Licence plates from three sources: a plate detector, and text found on vehicles or in a close-up frame."""

from __future__ import annotations

import enum

import cv2
import numpy as np

from veil.detection.base import Detector
from veil.detection.merge import merge_overlaps
from veil.detection.remap import remap_detections
from veil.detection.resize import enlarge
from veil.detections import Detections, Polygon
from veil.errors import ConfigError
from veil.geometry import box_area, inside_fraction_matrix
from veil.types import Image, ObjectClass

__all__ = ["PlateDetector", "WholeImageText"]

_MERGE_IOU = 0.3


class WholeImageText(enum.Enum):
    """When the plate search also runs the text detector on the whole image."""

    NEVER = "never"
    NO_VEHICLE = "no-vehicle"  # a close-up: the car fills the frame and the vehicle detector misses it
    ALWAYS = "always"


class PlateDetector:
    """Find licence plates as the union of plate-detector regions and text regions on vehicles.

    LPD-YuNet was trained on Chinese plates and misses many European and US ones; a text detector run on
    each vehicle crop finds their characters instead. When no vehicle is found the text detector runs on
    the whole image, because a plate photographed close up fills the frame and its car is then too large
    or too cut off for the vehicle detector.

    Every region is labelled LICENSE_PLATE. Other text on a vehicle (logos, stickers) is reported too:
    hiding it costs little, missing a plate exposes its owner.

    Args:
        text: text detector run on vehicle crops (and on the whole image when no vehicle is found).
        vehicles: detector whose VEHICLE regions are searched for text; ``None`` searches the whole image.
        plates: a dedicated plate detector run on the whole image, or ``None``.
        plates_min_vehicle_ratio: run ``plates`` only when no vehicle is found or the widest vehicle spans
            at least this share of the image width. LPD-YuNet squeezes the image to 320×240, so plates on
            smaller vehicles come out a few pixels wide there; skipping it on such frames (typical road
            video) saves about 30 ms of CPU per 720p frame. 0 always runs it.
        vehicle_margin_ratio: each vehicle box grows by this share of its size on every side before
            cropping (plates sit at the box edge, and boxes are loose).
        max_vehicles: at most this many vehicle crops per image, largest first (bounds the cost on a
            car park; a crop mostly inside a larger one is not searched again and does not count).
        min_vehicle_px: vehicles whose box is smaller than this on its long side are skipped.
        crop_long_side_px, max_crop_enlarge: a vehicle crop smaller than ``crop_long_side_px`` is
            enlarged towards it by at most ``max_crop_enlarge`` before text detection. A far-away car's
            plate characters are a few pixels tall, under what the text detector finds, yet a person
            (or an attacker who upscales the frame) can still read them. 1.0 never enlarges.
        whole_image_text: when to run text detection on the whole image as well.
        text_pad_ratio: a text region grows to the plate around it: by this share of its height at each
            end of its long side (the EU country strip, the plate border) and by half of it across.
    """

    def __init__(
        self,
        text: Detector,
        vehicles: Detector | None = None,
        plates: Detector | None = None,
        *,
        vehicle_margin_ratio: float = 0.1,
        max_vehicles: int = 8,
        min_vehicle_px: int = 24,
        whole_image_text: WholeImageText = WholeImageText.NO_VEHICLE,
        text_pad_ratio: float = 0.6,
        plates_min_vehicle_ratio: float = 0.25,
        crop_long_side_px: int = 640,
        max_crop_enlarge: float = 1.0,
    ) -> None:
        if not 0.0 <= vehicle_margin_ratio <= 1.0:
            raise ConfigError(f"vehicle_margin_ratio={vehicle_margin_ratio!r} is out of range [0, 1]")
        if max_vehicles < 0:
            raise ConfigError(f"max_vehicles={max_vehicles!r} must be >= 0")
        if not 1.0 <= max_crop_enlarge <= 8.0:
            raise ConfigError(f"max_crop_enlarge={max_crop_enlarge!r} is out of range [1, 8]")
        if crop_long_side_px < 16:
            raise ConfigError(f"crop_long_side_px={crop_long_side_px!r} must be >= 16")
        self.classes: frozenset[ObjectClass] = frozenset({ObjectClass.LICENSE_PLATE})
        self._text = text
        self._vehicles = vehicles
        self._plates = plates
        self._margin = vehicle_margin_ratio
        self._max_vehicles = max_vehicles
        self._min_vehicle_px = min_vehicle_px
        self._whole_image_text = whole_image_text
        self._text_pad_ratio = text_pad_ratio
        self._plates_min_vehicle_ratio = plates_min_vehicle_ratio
        self._crop_long_side_px = crop_long_side_px
        self._max_crop_enlarge = max_crop_enlarge

    def detect(self, image: Image) -> Detections:
        """Return every plate candidate in ``image``, merged where they overlap."""
        height, width = image.shape[:2]
        parts: list[Detections] = []
        crops = self._vehicle_crops(image) if self._vehicles is not None else []
        widest = max((x2 - x1 for x1, _, x2, _ in crops), default=width)
        if self._plates is not None and widest >= self._plates_min_vehicle_ratio * width:
            parts.append(self._plates.detect(image))
        for x1, y1, x2, y2 in crops:
            crop = np.ascontiguousarray(image[y1:y2, x1:x2])
            seen = enlarge(crop, self._crop_long_side_px, self._max_crop_enlarge)
            found = self._padded(self._text.detect(seen))
            scale = ((x2 - x1) / seen.shape[1], (y2 - y1) / seen.shape[0])
            frame_hw = (height, width)
            parts.append(remap_detections(found, scale_xy=scale, offset_xy=(x1, y1), frame_hw=frame_hw))
        mode = self._whole_image_text
        if mode is WholeImageText.ALWAYS or (mode is WholeImageText.NO_VEHICLE and not crops):
            parts.append(self._padded(self._text.detect(image)))
        merged = Detections.concat([_as_plates(p) for p in parts])
        return merge_overlaps(merged, _MERGE_IOU)

    def _padded(self, text: Detections) -> Detections:
        if len(text) == 0 or self._text_pad_ratio == 0:
            return text
        quads = [_pad_quad(text, i, self._text_pad_ratio) for i in range(len(text))]
        boxes = np.array([[*q.min(axis=0), *q.max(axis=0)] for q in quads], np.float32)
        return Detections.create(boxes, text.scores, ObjectClass.LICENSE_PLATE, polygons=quads)

    def _vehicle_crops(self, image: Image) -> list[tuple[int, int, int, int]]:
        assert self._vehicles is not None
        height, width = image.shape[:2]
        vehicles = self._vehicles.detect(image).of_class(ObjectClass.VEHICLE)
        if len(vehicles) == 0:
            return []
        boxes = vehicles.boxes_xyxy
        sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        boxes = boxes[sides >= self._min_vehicle_px]
        order = np.argsort(-box_area(boxes), kind="stable")
        crops: list[tuple[int, int, int, int]] = []
        for x1, y1, x2, y2 in boxes[order]:
            if len(crops) >= self._max_vehicles:
                break
            mx, my = (x2 - x1) * self._margin, (y2 - y1) * self._margin
            box = (
                max(0, int(np.floor(x1 - mx))),
                max(0, int(np.floor(y1 - my))),
                min(width, int(np.ceil(x2 + mx))),
                min(height, int(np.ceil(y2 + my))),
            )
            if box[2] > box[0] and box[3] > box[1] and not _mostly_inside(box, crops):
                crops.append(box)
        return crops


_INSIDE_SHARE = 0.9  # a crop this much inside an earlier one adds too little to be searched again


def _mostly_inside(box: tuple[int, int, int, int], crops: list[tuple[int, int, int, int]]) -> bool:
    if not crops:
        return False
    inside = inside_fraction_matrix(np.array([box], np.float32), np.array(crops, np.float32))
    return bool(inside.max() >= _INSIDE_SHARE)


def _pad_quad(text: Detections, i: int, pad_ratio: float) -> Polygon:
    polygon = text.polygon(i)
    if polygon is None:
        x1, y1, x2, y2 = text.boxes_xyxy[i]
        polygon = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)
    (cx, cy), (w, h), angle = cv2.minAreaRect(np.asarray(polygon, np.float32).reshape(-1, 2))
    short = min(w, h)
    # Grow the long side by pad × height at each end and the short side by half of that.
    if w >= h:
        w, h = w + 2 * pad_ratio * short, h + pad_ratio * short
    else:
        w, h = w + pad_ratio * short, h + 2 * pad_ratio * short
    quad: Polygon = cv2.boxPoints(((cx, cy), (w, h), angle)).astype(np.float32)
    return quad


def _as_plates(detections: Detections) -> Detections:
    if len(detections) == 0:
        return detections
    return Detections(
        boxes_xyxy=detections.boxes_xyxy,
        scores=detections.scores,
        labels=np.array([ObjectClass.LICENSE_PLATE] * len(detections), dtype=object),
        masks=None,
        polygons=detections.polygons,
        track_ids=None,
        origins=detections.origins,
    )
