"""Find moving things that no region explains: the bottom-up safety net behind the detectors.

The camera's own motion is fitted as a homography to sparse corner tracks (RANSAC drops the
corners on moving objects); a pixel is foreground when its dense flow disagrees with the flow the
homography predicts. For a fixed camera a background model (MOG2) does the same job and also
catches objects that move slowly. Foreground blobs of person or vehicle size that no region covers
are returned as low-score person regions, so the policy hides them although no detector saw them.
"""

from __future__ import annotations

import functools
import logging

import cv2
import numpy as np
import numpy.typing as npt

from veil.detections import Detections
from veil.errors import ConfigError
from veil.propagation.downscale import small_grey
from veil.types import Frame, ObjectClass, Origin

__all__ = ["MotionFallback"]

_log = logging.getLogger(__name__)

Grey = npt.NDArray[np.uint8]
# Corner tracking for the camera's motion: enough corners to outvote moving objects, and a fit only
# when enough of them were tracked.
_MAX_CORNERS = 150
_CORNER_QUALITY = 0.01
_CORNER_SPACING_PX = 8
_MIN_CORNERS = 12
_LK_WINDOW = (15, 15)
_LK_LEVELS = 2
_RANSAC_REPROJECTION_PX = 1.5
# Persons stand about 3 times taller than wide and vehicles are up to 3 times wider than tall.
_MAX_BLOB_ELONGATION = 6
# Letterbox and pillarbox bars: edge rows or columns whose grey levels spread less than this; pixels
# this close to a bar are ignored too, since undoing the camera's motion drags the picture across them.
_BAR_STD = 4.0
_BAR_MARGIN_PX = 4
# Grey levels a pixel must change by, once the camera's motion is undone, to count as moving.
_CHANGED_GREY = 12
# Blob clean-up: open removes speckle, close joins a walker's limbs into one blob.
_OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_CLOSE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))


class MotionFallback:
    """Return person-sized moving blobs on a frame that none of the given regions explains.

    Call :meth:`update` on every frame in order (the first frame of a stream, or after
    :meth:`reset`, yields nothing: motion needs two frames).

    Args:
        work_long_side_px: frames are shrunk to this long side before analysis.
        static_camera: the camera does not move: model the background (MOG2) instead of fitting
            the camera's motion.
        residual_px: least disagreement, in work-resolution pixels per frame, between a pixel's
            flow and the camera's motion for the pixel to count as moving.
        min_area_ratio, max_area_ratio: blob size bounds as shares of the frame's area; smaller
            blobs are noise, larger ones are a failed camera-motion fit rather than an object.
        explained_ratio: a blob with at least this share of its pixels inside given regions'
            boxes is explained.
        score: the score given to the regions returned (low: they are guesses).
    """

    def __init__(
        self,
        *,
        work_long_side_px: int = 320,
        static_camera: bool = False,
        residual_px: float = 1.0,
        min_area_ratio: float = 0.0005,
        max_area_ratio: float = 0.25,
        explained_ratio: float = 0.5,
        score: float = 0.05,
    ) -> None:
        if not 64 <= work_long_side_px <= 4096:
            raise ConfigError(f"work_long_side_px={work_long_side_px!r} is out of range [64, 4096]")
        if not 0.0 < residual_px <= 100.0:
            raise ConfigError(f"residual_px={residual_px!r} is out of range (0, 100]")
        if not 0.0 <= min_area_ratio < max_area_ratio <= 1.0:
            raise ConfigError(
                f"min_area_ratio={min_area_ratio!r} and max_area_ratio={max_area_ratio!r} "
                "must satisfy 0 <= min < max <= 1"
            )
        if not 0.0 < explained_ratio <= 1.0:
            raise ConfigError(f"explained_ratio={explained_ratio!r} is out of range (0, 1]")
        if not 0.0 <= score <= 1.0:
            raise ConfigError(f"score={score!r} is out of range [0, 1]")
        self.work_long_side_px = work_long_side_px
        self.static_camera = static_camera
        self.residual_px = residual_px
        self.min_area_ratio = min_area_ratio
        self.max_area_ratio = max_area_ratio
        self.explained_ratio = explained_ratio
        self.score = score
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._background = self._new_background()
        self._previous: Grey | None = None

    def update(self, frame: Frame, explained: Detections) -> Detections:
        """Return the moving blobs on ``frame`` that ``explained`` does not cover, as PERSON regions."""
        height, width = frame.image.shape[:2]
        grey = small_grey(frame.image, self.work_long_side_px)
        previous, self._previous = self._previous, grey
        if previous is not None and previous.shape != grey.shape:
            self.reset()
            self._previous, previous = grey, None
        if self.static_camera:
            moving = np.asarray(self._background.apply(grey), np.uint8) > 0
            if previous is None:
                return Detections.empty()  # the model has seen one frame: everything differs from nothing
        elif previous is None:
            return Detections.empty()
        else:
            moving = self._moving_against_camera(previous, grey)
        scale = (width / grey.shape[1], height / grey.shape[0])
        return self._unexplained_blobs(moving, explained, scale)

    def reset(self) -> None:
        """Forget the previous frame and the background model (scene cut, seek)."""
        self._previous = None
        self._background = self._new_background()

    @staticmethod
    def _new_background() -> cv2.BackgroundSubtractorMOG2:
        return cv2.createBackgroundSubtractorMOG2(detectShadows=False)

    def _moving_against_camera(self, previous: Grey, grey: Grey) -> npt.NDArray[np.bool_]:
        raw = self._flow.calc(previous, grey, None)  # type: ignore[call-overload]
        flow = np.asarray(raw, np.float32)
        height, width = grey.shape
        homography = _camera_motion(previous, grey)
        xs, ys = _pixel_grid(height, width)
        h = homography.astype(np.float32)
        denominator = h[2, 0] * xs + h[2, 1] * ys + h[2, 2]
        residual_x = flow[..., 0] - ((h[0, 0] * xs + h[0, 1] * ys + h[0, 2]) / denominator - xs)
        residual_y = flow[..., 1] - ((h[1, 0] * xs + h[1, 1] * ys + h[1, 2]) / denominator - ys)
        disagrees = residual_x * residual_x + residual_y * residual_y > self.residual_px**2
        # Dense flow smears an object's motion over flat surroundings (road, sky); only pixels that
        # also changed once the camera's motion is undone are the object itself.
        undone = cv2.warpPerspective(previous, homography, (width, height), borderMode=cv2.BORDER_REPLICATE)
        changed = cv2.absdiff(cv2.blur(grey, (3, 3)), cv2.blur(undone, (3, 3))) > _CHANGED_GREY
        moving: npt.NDArray[np.bool_] = disagrees & changed & _picture_area(grey)
        return moving

    def _unexplained_blobs(
        self, moving: npt.NDArray[np.bool_], explained: Detections, scale: tuple[float, float]
    ) -> Detections:
        opened = cv2.morphologyEx(moving.astype(np.uint8), cv2.MORPH_OPEN, _OPEN_KERNEL)
        mask = np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, _CLOSE_KERNEL), np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        frame_area = float(mask.shape[0] * mask.shape[1])
        covered = _box_cover(explained, mask.shape, scale)
        boxes = []
        for blob in range(1, count):  # 0 is the background
            x, y, w, h, area = (int(v) for v in stats[blob])
            if not self.min_area_ratio <= area / frame_area <= self.max_area_ratio:
                continue
            if max(w, h) > _MAX_BLOB_ELONGATION * min(w, h):
                continue  # a streak along an edge, not a person or a vehicle
            pixels = labels[y : y + h, x : x + w] == blob
            if covered[y : y + h, x : x + w][pixels].mean() >= self.explained_ratio:
                continue
            boxes.append([x * scale[0], y * scale[1], (x + w) * scale[0], (y + h) * scale[1]])
        if not boxes:
            return Detections.empty()
        _log.debug("motion fallback: %d unexplained moving blobs", len(boxes))
        return Detections.create(
            np.array(boxes, np.float32),
            np.full(len(boxes), self.score, np.float32),
            ObjectClass.PERSON,
            origin=Origin.PROPAGATED,
        )


def _camera_motion(previous: Grey, grey: Grey) -> npt.NDArray[np.float64]:
    """Return the homography of the camera's own motion from ``previous`` to ``grey``; identity if unknown."""
    still = np.eye(3, dtype=np.float64)
    corners = cv2.goodFeaturesToTrack(previous, _MAX_CORNERS, _CORNER_QUALITY, _CORNER_SPACING_PX)
    if corners is None or len(corners) < _MIN_CORNERS:
        return still  # too little texture to tell: treat the camera as still
    # nextPts is only an output here (no OPTFLOW_USE_INITIAL_FLOW); the stub wants an array.
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        previous, grey, corners, corners.copy(), winSize=_LK_WINDOW, maxLevel=_LK_LEVELS
    )
    ok = status.reshape(-1) == 1
    if int(ok.sum()) < _MIN_CORNERS:
        return still
    homography, _ = cv2.findHomography(corners[ok], moved[ok], cv2.RANSAC, _RANSAC_REPROJECTION_PX)
    return still if homography is None else np.asarray(homography, np.float64)


@functools.lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Return read-only (xs, ys) pixel coordinate grids of a height×width image."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys


def _box_cover(
    detections: Detections, shape: tuple[int, ...], scale: tuple[float, float]
) -> npt.NDArray[np.bool_]:
    """Return a work-resolution mask of the pixels inside any of ``detections``' boxes."""
    covered = np.zeros(shape[:2], np.bool_)
    for x1, y1, x2, y2 in detections.boxes_xyxy:
        c0, c1 = max(0, int(np.floor(x1 / scale[0]))), int(np.ceil(x2 / scale[0]))
        r0, r1 = max(0, int(np.floor(y1 / scale[1]))), int(np.ceil(y2 / scale[1]))
        covered[r0:r1, c0:c1] = True
    return covered


def _picture_area(grey: Grey) -> npt.NDArray[np.bool_]:
    """Return the pixels of ``grey`` inside any letterbox or pillarbox bars, away from their edges."""
    height, width = grey.shape
    x0, x1 = _bar_bounds(grey.std(axis=0))
    y0, y1 = _bar_bounds(grey.std(axis=1))
    inside = np.zeros((height, width), np.bool_)
    if x0 or x1 < width:
        x0, x1 = x0 + _BAR_MARGIN_PX, x1 - _BAR_MARGIN_PX
    if y0 or y1 < height:
        y0, y1 = y0 + _BAR_MARGIN_PX, y1 - _BAR_MARGIN_PX
    inside[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    return inside


def _bar_bounds(spread: npt.NDArray[np.floating]) -> tuple[int, int]:
    """Return the half-open range of lines between the flat lines at either end of ``spread``."""
    busy = np.flatnonzero(spread >= _BAR_STD)
    if not len(busy):
        return 0, len(spread)  # a flat picture: no bars to tell apart
    return int(busy[0]), int(busy[-1]) + 1
