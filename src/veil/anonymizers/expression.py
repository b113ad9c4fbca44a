"""Expression-keeping faces: the face is hidden whole, then a synthetic face is drawn on its 68 landmarks.

Who it was goes; where the head points and what the face does stay (brows, eyes, nose, mouth and jaw
are drawn where dlib's landmark model finds them), so emotion and gaze readers and face counters still
work on the output. The synthetic face is made here, procedurally: a skin of one colour (the mean of the
hidden face's own skin) with a radial shading, white eyes with dark irises, and lips of a fixed hue; no
texture of any person is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from veil.anonymizers._output import redraw_regions
from veil.anonymizers._region_info import Region, coarse_patch
from veil.anonymizers.face_landmarks import FaceLandmarker
from veil.detections import Detections
from veil.regions import RegionCrop
from veil.types import Image, ObjectClass

__all__ = ["ExpressionKeeping"]

Points = npt.NDArray[np.float32]

# The iBUG 300-W 68-point layout dlib's model uses.
_JAW = slice(0, 17)
_BROWS = (slice(17, 22), slice(22, 27))
_NOSE_BRIDGE = slice(27, 31)
_NOSE_BASE = slice(31, 36)
_EYES = (slice(36, 42), slice(42, 48))
_LIPS = slice(48, 60)
_MOUTH = slice(60, 68)
# A policy-grown face region is the detected box plus 15 % a side: shrink it back when dlib's own
# detector does not find the face (its landmark model expects its own tight boxes).
_DEFAULT_GROWTH = 1.3
_BROW_COLOUR = np.array([58, 44, 36], np.float32)
_LIP_COLOUR = np.array([170, 70, 80], np.float32)
_IRIS_COLOUR = (40, 32, 28)
_WHITE = (235, 235, 230)
# Eyes drawn a fifth larger than found: larger eyes brought the embedding of one small shared face within
# dlib's same-person distance of its original (docs/methods.md).
_EYE_SCALE = 1.2


@dataclass(frozen=True)
class ExpressionKeeping:
    """Replace each face with a procedural face drawn on its landmarks; other classes are filled flat.

    Args:
        landmarker: the 68-point landmark model (dlib, from the ``expression`` extra).
    """

    landmarker: FaceLandmarker = field(default_factory=FaceLandmarker, repr=False)
    surround_fill: bool = True

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every face redrawn; never modify ``image`` unless it is ``out``."""
        source = np.ascontiguousarray(image).copy() if out is image else image

        def redraw(region: Region, patch: Image) -> Image:
            crop = region.crop
            # Nothing of the face survives under the drawing: the base is the region at 2 cells across.
            values = coarse_patch(patch, max(2.0, region.side_px / 2))
            if detections.labels[region.row] is ObjectClass.FACE:
                points = self._landmarks(source, detections.boxes_xyxy[region.row])
                local = points - (crop.x0, crop.y0)
                if self.surround_fill:
                    values[...] = _outside_colour(patch, local).astype(np.uint8)
                _draw_face(values, local, _skin_colour(patch, points, crop))
            return values

        return redraw_regions(image, detections, out, redraw)

    def _landmarks(self, image: Image, region_box: npt.NDArray[np.float32]) -> Points:
        tight = self.landmarker.tight_box(image, region_box)
        if tight is None:
            centre = (region_box[:2] + region_box[2:]) / 2
            half = (region_box[2:] - region_box[:2]) / (2 * _DEFAULT_GROWTH)
            tight = np.concatenate([centre - half, centre + half]).astype(np.float32)
        return self.landmarker.landmarks(image, tight)


def _skin_colour(patch: Image, points: Points, crop: RegionCrop) -> npt.NDArray[np.float32]:
    """Return the mean colour inside the jaw and brows of the hidden face (its skin and lighting)."""
    mask = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(_face_outline(points) - (crop.x0, crop.y0)).astype(np.int32)], 1)
    if not mask.any():
        return np.asarray(patch.reshape(-1, 3).mean(axis=0), np.float32)
    return np.asarray(patch[mask.astype(bool)].mean(axis=0), np.float32)


def _outside_colour(patch: Image, local: Points) -> npt.NDArray[np.float32]:
    """Return the mean colour of the region around the face (hair, background)."""
    mask = np.ones(patch.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_pts(_face_outline(local))], 0)
    inside = mask.astype(bool)
    pixels = patch[inside] if inside.any() else patch.reshape(-1, 3)
    return np.asarray(pixels.mean(axis=0), np.float32)


def _face_outline(points: Points) -> Points:
    """Return the outline of the drawn face: an ellipse fitted to the jaw and a forehead above the brows.

    The ellipse keeps the head's size, place and tilt but not the jaw's own shape, which is as much
    a part of who someone is as of what the face does (with the jaw's own points, one of the 18 shared
    faces stayed within dlib's same-person distance of its original).
    """
    jaw = points[_JAW]
    brows = points[17:27]
    height = float(np.ptp(points[:, 1])) or 1.0
    forehead = brows[::-1] - (0.0, 0.22 * height)
    (cx, cy), (width, tall), angle = cv2.fitEllipse(np.concatenate([jaw, forehead]).astype(np.float32))
    ellipse = cv2.ellipse2Poly(
        (round(cx), round(cy)), (max(1, round(width / 2)), max(1, round(tall / 2))), round(angle), 0, 360, 10
    )
    return np.asarray(ellipse, np.float32)


def _draw_face(canvas: Image, points: Points, skin: npt.NDArray[np.float32]) -> None:
    """Draw the synthetic face on ``canvas`` in place, ``points`` in its pixels."""
    face_w = float(np.ptp(points[:, 0])) or 1.0
    line = max(1, round(face_w / 40))
    outline = _face_outline(points)
    _fill(canvas, outline, skin, shade_centre=points[30], shade_radius=face_w * 0.75)
    dark_skin = tuple(int(v) for v in np.clip(skin * 0.6, 0, 255))
    brow_line = max(1, round(face_w / 28))
    for brow in _BROWS:
        _polyline(canvas, points[brow], tuple(int(v) for v in _BROW_COLOUR), brow_line, closed=False)
    for eye in _EYES:
        # Drawn a little larger than found, so small faces keep eyes a viewer (and a detector) can see.
        centre = points[eye].mean(axis=0)
        contour = (centre + (points[eye] - centre) * _EYE_SCALE).astype(np.float32)
        _fill(canvas, contour, np.asarray(_WHITE, np.float32))
        centre = contour.mean(axis=0)
        radius = max(1.0, float(np.ptp(contour[:, 1])) * 0.5)
        iris = np.zeros(canvas.shape[:2], np.uint8)
        cv2.circle(iris, _pt(centre), max(1, round(radius)), 1, -1, lineType=cv2.LINE_AA)
        eye_mask = np.zeros_like(iris)
        cv2.fillPoly(eye_mask, [_pts(contour)], 1, lineType=cv2.LINE_AA)
        canvas[(iris & eye_mask).astype(bool)] = _IRIS_COLOUR
        _polyline(canvas, contour, tuple(int(v) for v in _BROW_COLOUR), line, closed=True)
    _polyline(canvas, points[_NOSE_BRIDGE], dark_skin, line, closed=False)
    _polyline(canvas, points[_NOSE_BASE], dark_skin, line, closed=False)
    lips = np.clip(skin * 0.4 + _LIP_COLOUR * 0.6, 0, 255)
    _fill(canvas, points[_LIPS], lips)
    _fill(canvas, points[_MOUTH], np.asarray([70, 25, 30], np.float32))
    _polyline(canvas, points[_LIPS], tuple(int(v) for v in np.clip(lips * 0.6, 0, 255)), line, closed=True)


def _fill(
    canvas: Image,
    polygon: Points,
    colour: npt.NDArray[np.float32],
    *,
    shade_centre: Points | None = None,
    shade_radius: float = 1.0,
) -> None:
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_pts(polygon)], 1, lineType=cv2.LINE_AA)
    inside = mask.astype(bool)
    if not inside.any():
        return
    if shade_centre is None:
        canvas[inside] = np.clip(colour, 0, 255).astype(np.uint8)
        return
    ys, xs = np.nonzero(inside)
    distance = np.hypot(xs - shade_centre[0], ys - shade_centre[1]) / max(shade_radius, 1.0)
    # Light falls off towards the edge of the face: the shading a face detector expects of a head.
    shade = 1.08 - 0.3 * np.clip(distance, 0.0, 1.0) ** 2
    canvas[ys, xs] = np.clip(colour[None, :] * shade[:, None], 0, 255).astype(np.uint8)


def _polyline(
    canvas: Image, points: Points, colour: tuple[int, ...], thickness: int, *, closed: bool
) -> None:
    cv2.polylines(canvas, [_pts(points)], closed, colour, thickness, lineType=cv2.LINE_AA)


def _pts(points: Points) -> npt.NDArray[np.int32]:
    return np.round(points).astype(np.int32).reshape(-1, 1, 2)


def _pt(point: Points) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))
