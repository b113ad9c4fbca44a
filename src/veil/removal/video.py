"""RemoveStaticObject and RemoveDynamicObject: remove objects from a video file by inpainting.

Example::

    from veil.removal import RemovalSettings, remove_dynamic_object

    report = remove_dynamic_object("street.mp4", "street.clean.mp4", RemovalSettings())
    print(report.frames_written, report.fill.spatial)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from veil.detection.base import Detector
from veil.detections import Detections
from veil.errors import ConfigError, PrivacyError
from veil.pipeline.config import PipelineConfig
from veil.pipeline.detections_json import read_detections
from veil.pipeline.loop import run_stages
from veil.propagation.scene_cut import SceneCutDetector
from veil.removal.batches import CameraMotion
from veil.removal.engine import FilledFrame, WindowFiller
from veil.removal.mask_source import FrameMask, MaskSource
from veil.removal.masks import boxes_mask
from veil.removal.report import FillCounts, RemovalReport
from veil.removal.settings import RemovalSettings
from veil.types import Frame, VideoInfo
from veil.video.reader import VideoReader
from veil.video.writer import VideoWriter

__all__ = ["remove_dynamic_object", "remove_static_object"]

_log = logging.getLogger(__name__)


def remove_dynamic_object(
    src: Path | str,
    dst: Path | str,
    settings: RemovalSettings | None = None,
    *,
    detector: Detector | None = None,
) -> RemovalReport:
    """Remove moving persons and vehicles (all, one track, or those in a box) from video ``src`` into ``dst``.

    Each removed pixel takes the background that other frames show there (a still camera's median
    plate, or colour carried along optical flow); what no frame shows is inpainted once and carried.
    ``detector`` replaces Veil's default detector (YOLOX boxes refined by DeepLab masks).

    Raises:
        PrivacyError: a frame's mask could not be computed; nothing is written.
        MediaError: the input cannot be read or the output cannot be written.

    >>> report = remove_dynamic_object("street.mp4", "street.clean.mp4")  # doctest: +SKIP
    """
    return _remove(Path(src), Path(dst), settings or RemovalSettings(), detector, still_object=False)


def remove_static_object(
    src: Path | str,
    dst: Path | str,
    settings: RemovalSettings,
    *,
    detector: Detector | None = None,
) -> RemovalReport:
    """Remove an object that does not move (a parked car) from video ``src`` into ``dst``.

    ``settings`` must name it by ``box_xyxy`` or ``track_id``. Its masks are joined over each batch of
    frames, so it is removed whole on every frame; where no frame shows what is behind it, the hole is
    inpainted once and that fill is kept. With a box and nothing found in it, the box is removed.

    >>> settings = RemovalSettings(box_xyxy=(410, 220, 640, 380))  # doctest: +SKIP
    >>> report = remove_static_object("lot.mp4", "lot.clean.mp4", settings)  # doctest: +SKIP
    """
    if settings.box_xyxy is None and settings.track_id is None:
        raise ConfigError("remove_static_object needs box_xyxy or track_id: name the object to remove")
    return _remove(Path(src), Path(dst), settings, detector, still_object=True)


def _regions(settings: RemovalSettings, info: VideoInfo) -> Mapping[int, Detections] | None:
    if settings.detections is None:
        return None
    found = read_detections(settings.detections)
    if (found.width, found.height) != (info.width, info.height):
        raise ConfigError(
            f"{settings.detections} describes {found.width}×{found.height} frames, "
            f"the video has {info.width}×{info.height}"
        )
    return found.by_index()


def _default_detector(settings: RemovalSettings) -> Detector:
    from veil.detection.registry import build_detector, create_backend
    from veil.detection.selection import SelectClasses

    config = PipelineConfig(
        targets=settings.targets, models_dir=settings.models_dir, max_pixels=settings.output.max_pixels
    )
    if settings.silhouettes:
        return build_detector(settings.targets, config)
    return SelectClasses(create_backend("yolox", config), settings.targets)


class _Tally:
    """Count what was read and written."""

    def __init__(self) -> None:
        self.read = 0
        self.frames = 0
        self.with_mask = 0
        self.still = 0
        self.moving = 0
        self.masked_ratio = 0.0
        self.fill = FillCounts()

    def add(self, done: FilledFrame) -> None:
        self.frames += 1
        if done.counts.masked:
            self.with_mask += 1
        if done.motion is CameraMotion.MOVING:
            self.moving += 1
        else:
            self.still += 1
        self.masked_ratio += done.counts.masked / done.mask.size
        self.fill.add(done.counts)


class _RemovalEngine:
    """Removal's engine: each frame's mask (detected, carried, held), then the background filler."""

    def __init__(self, masks: MaskSource, cuts: SceneCutDetector, filler: WindowFiller) -> None:
        self._masks = masks
        self._cuts = cuts
        self._filler = filler

    def _fill(self, ready: list[FrameMask]) -> Iterator[FilledFrame]:
        for item in ready:
            yield from self._filler.push(item.frame, item.mask, cut=item.cut)

    def push(self, frame: Frame) -> Iterator[FilledFrame]:
        return self._fill(self._masks.push(frame, cut=self._cuts.is_cut(frame.image)))

    def flush(self) -> Iterator[FilledFrame]:
        yield from self._fill(self._masks.flush())
        yield from self._filler.flush()


def _counted(frames: Iterable[Frame], tally: _Tally) -> Iterator[Frame]:
    for frame in frames:
        tally.read += 1
        yield frame


def _remove(
    src: Path, dst: Path, settings: RemovalSettings, detector: Detector | None, *, still_object: bool
) -> RemovalReport:
    started = time.perf_counter()
    operation = "remove_static_object" if still_object else "remove_dynamic_object"
    tally = _Tally()
    with VideoReader(src, max_pixels=settings.output.max_pixels) as reader:
        info = reader.info
        regions = _regions(settings, info)
        if regions is None and detector is None:
            detector = _default_detector(settings)
        fallback = None
        if still_object and settings.box_xyxy is not None:
            fallback = boxes_mask(np.array([settings.box_xyxy], np.float32), (info.height, info.width))
        filler = WindowFiller(
            window_radius=settings.window_radius,
            plate_samples=settings.plate_samples,
            flow_long_side_px=settings.flow_long_side_px,
            accumulate_masks=still_object,
            fallback_mask=fallback,
        )
        masks = MaskSource(
            settings,
            detector=detector,
            regions=regions,
            still_object=still_object,
            camera_moving=lambda: filler.current_motion is CameraMotion.MOVING,
        )
        engine = _RemovalEngine(masks, SceneCutDetector(), filler)

        def write(done: FilledFrame) -> None:
            writer.write(done.frame, done.image)
            tally.add(done)

        with VideoWriter(
            dst,
            src,
            info,
            settings.output.encoder,
            keep_audio=settings.output.keep_audio,
            strip_location=settings.output.strip_location,
        ) as writer:
            run_stages(_counted(reader, tally), engine, write)
            if tally.frames != tally.read:
                raise PrivacyError(
                    f"{src.name}: read {tally.read} frames but filled {tally.frames}; output discarded"
                )
            writer.commit()
    report = RemovalReport(
        source=str(src),
        output=str(dst),
        operation=operation,
        frames_read=tally.read,
        frames_written=tally.frames,
        frames_with_mask=tally.with_mask,
        still_frames=tally.still,
        moving_frames=tally.moving,
        segments=filler.organizer.segments,
        masked_pixel_ratio=tally.masked_ratio / max(1, tally.frames),
        fill=tally.fill,
        elapsed_s=time.perf_counter() - started,
    )
    _log.info("%s: %s removed objects from %d of %d frames", dst, operation, tally.with_mask, tally.frames)
    return report
