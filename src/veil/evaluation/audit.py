"""Audit anonymized media against its original: pair files, pick frames, attack them, collect a report.

Example::

    from veil.evaluation.audit import audit_paths

    report = audit_paths(Path("out/"), Path("footage/"))
    print(report.leak_rate())          # share of faces/plates/text still found or read
    write_audit_html(report, Path("audit.html"))
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from veil.errors import ConfigError, MediaError, UnreadableMediaError, UnsupportedFrameError
from veil.evaluation.annotations import AnnotatedFrame, DatasetFormat, group_by_image, load_annotations
from veil.evaluation.audit_frame import AuditItem, FrameAudit, FrameAuditor
from veil.evaluation.audit_options import AuditOptions
from veil.evaluation.audit_report import AuditedFile, AuditedFrame, AuditReport, WorstFrame
from veil.pipeline.batch import iter_media_files
from veil.pipeline.config import PipelineConfig
from veil.pipeline.runner import NullProgress, Progress
from veil.types import Frame, Image, ObjectClass
from veil.video.image_io import load_image
from veil.video.probe import MediaKind, probe_media
from veil.video.reader import VideoReader

__all__ = ["audit_paths", "frame_step"]

_log = logging.getLogger(__name__)

_MAX_PIXELS = PipelineConfig().max_pixels
_THUMB_WIDTH_PX = 360
_LEAK_RGB = (230, 30, 30)
_NEAR_RGB = (255, 160, 0)
_SAFE_RGB = (40, 200, 80)


def frame_step(interval_s: float, frame_rate: float) -> int:
    """Return how many frames apart attacked frames are for one attack every ``interval_s`` seconds."""
    if interval_s <= 0 or frame_rate <= 0:
        return 1
    return max(1, round(interval_s * frame_rate))


def audit_paths(
    anonymized: Path,
    original: Path,
    options: AuditOptions | None = None,
    progress: Progress | None = None,
    *,
    truth: Path | None = None,
    truth_format: DatasetFormat | None = None,
    auditor: FrameAuditor | None = None,
) -> AuditReport:
    """Attack ``anonymized`` (an image, a video or a folder) where ``original`` shows identifying content.

    Folders are paired by relative path, as ``veil anonymize`` mirrors them; a file with no anonymized
    copy is noted, a pair that cannot be read is a failure and the audit goes on. With ``truth``
    (annotations of the original images: dlib XML, OpenALPR, COCO or MOT), the annotated objects are
    the items instead of what the attackers find on the originals; videos are always searched.

    Raises:
        UnreadableMediaError: a path does not exist, or a single pair cannot be read.
        ConfigError: one path is a folder and the other a file.
    """
    options = options or AuditOptions()
    anonymized, original = Path(anonymized), Path(original)
    started = time.perf_counter()
    for path in (original, anonymized):
        if not path.exists():
            raise UnreadableMediaError(f"{path} does not exist")
    if original.is_dir() != anonymized.is_dir():
        which = "a folder" if original.is_dir() else "a file"
        raise ConfigError(f"the original {original} is {which}, so the anonymized path must be one too")
    report = AuditReport(str(anonymized), str(original), options)
    collector = _WorstFrames(options.worst_frames)
    annotated = _annotations(truth, truth_format)
    attack = auditor or FrameAuditor(options)
    context = _Context(attack, report, collector, progress or NullProgress(), annotated)
    if original.is_dir():
        for src in iter_media_files(original):
            rel = src.relative_to(original)
            out = anonymized / rel
            if not out.is_file():
                report.notes.append(f"{rel}: no anonymized copy at {out}")
                continue
            try:
                _audit_pair(src, out, str(rel), context)
            except MediaError as exc:
                _log.error("%s: %s", rel, exc)
                report.failures.append(f"{rel}: {exc}")
    else:
        _audit_pair(original, anonymized, original.name, context)
    if annotated is not None and not report.frames:
        report.notes.append("no audited image is named in the annotations")
    report.worst = collector.frames()
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Context:
    attack: FrameAuditor
    report: AuditReport
    collector: _WorstFrames
    progress: Progress
    annotated: dict[Path, AnnotatedFrame] | None


def _annotations(truth: Path | None, fmt: DatasetFormat | None) -> dict[Path, AnnotatedFrame] | None:
    if truth is None:
        return None
    frames = group_by_image(load_annotations(Path(truth), fmt))
    return {frame.image_path.resolve(): frame for frame in frames}


def _audit_pair(original: Path, anonymized: Path, name: str, context: _Context) -> None:
    kind = probe_media(original)
    if probe_media(anonymized) is not kind:
        raise UnreadableMediaError(f"{anonymized} is not a {kind.value} like its original {original}")
    if kind is MediaKind.VIDEO:
        _audit_video(original, anonymized, name, context)
        return
    truth = None
    if context.annotated is not None:
        truth = context.annotated.get(original.resolve(), AnnotatedFrame(original, ()))
    before = load_image(original, max_pixels=_MAX_PIXELS).image
    after = load_image(anonymized, max_pixels=_MAX_PIXELS).image
    context.progress.start(name, 1)
    audited = context.attack.audit(before, after, truth)
    context.progress.advance()
    context.report.files.append(AuditedFile(name, "image", before.shape[1], before.shape[0], 1, 1))
    context.report.frames.append(AuditedFrame(name, 0, None, audited))
    context.collector.offer(name, 0, None, audited, before, after)


def _audit_video(original: Path, anonymized: Path, name: str, context: _Context) -> None:
    report, progress = context.report, context.progress
    with (
        VideoReader(original, max_pixels=_MAX_PIXELS) as before_reader,
        VideoReader(anonymized, max_pixels=_MAX_PIXELS) as after_reader,
    ):
        info = before_reader.info
        rate = float(info.frame_rate)
        step = frame_step(report.options.sample_interval_s, rate)
        progress.start(name, info.frame_count)
        compared = attacked = 0
        for before, after in _paired(before_reader, after_reader, name, report):
            if before.image.shape != after.image.shape:
                raise UnsupportedFrameError(
                    f"{name} frame {before.index}: the anonymized frame is {after.image.shape[1]}×"
                    f"{after.image.shape[0]}, the original {before.image.shape[1]}×{before.image.shape[0]}"
                )
            compared += 1
            progress.advance()
            if before.index % step:
                continue
            attacked += 1
            time_s = before.time_s if before.time_s is not None else before.index / rate
            audited = context.attack.audit(before.image, after.image)
            report.frames.append(AuditedFrame(name, before.index, time_s, audited))
            context.collector.offer(name, before.index, time_s, audited, before.image, after.image)
        report.files.append(
            AuditedFile(name, "video", info.width, info.height, compared, attacked, rate, step)
        )


def _paired(
    before: VideoReader, after: VideoReader, name: str, report: AuditReport
) -> Iterator[tuple[Frame, Frame]]:
    for frame_before, frame_after in itertools.zip_longest(before, after):
        if frame_before is None or frame_after is None:
            shorter = "anonymized" if frame_after is None else "original"
            report.notes.append(f"{name}: the {shorter} video has fewer frames; compared up to its end")
            return
        yield frame_before, frame_after


@dataclass(order=True)
class _Candidate:
    risk: float
    order: int
    frame: WorstFrame = field(compare=False)


class _WorstFrames:
    """Keep thumbnails of the ``limit`` riskiest attacked frames that showed something identifying."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._heap: list[_Candidate] = []
        self._counter = itertools.count()

    def offer(
        self, name: str, index: int, time_s: float | None, audited: FrameAudit, before: Image, after: Image
    ) -> None:
        """Consider one attacked frame; thumbnails are made only for frames that make the cut."""
        items = [i for i in audited.items if i.label is not ObjectClass.PERSON]
        if not items or not self._limit:
            return
        risk = audited.risk
        # Later frames lose ties, so the first appearance of a problem is what the report shows.
        order = -next(self._counter)
        if len(self._heap) >= self._limit and (risk, order) <= (self._heap[0].risk, self._heap[0].order):
            return
        frame = WorstFrame(name, index, time_s, risk, _thumbnail(before, items), _thumbnail(after, items))
        candidate = _Candidate(risk, order, frame)
        if len(self._heap) < self._limit:
            heapq.heappush(self._heap, candidate)
        else:
            heapq.heapreplace(self._heap, candidate)

    def frames(self) -> list[WorstFrame]:
        """Return the kept frames, riskiest first."""
        return [c.frame for c in sorted(self._heap, reverse=True)]


def _thumbnail(image: Image, items: list[AuditItem]) -> Image:
    height, width = image.shape[:2]
    scale = min(1.0, _THUMB_WIDTH_PX / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumb = np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    for item in items:
        colour = _LEAK_RGB if item.leaked else _NEAR_RGB if item.risk >= 0.5 else _SAFE_RGB
        x1, y1, x2, y2 = (round(v * scale) for v in item.box_xyxy)
        cv2.rectangle(thumb, (x1, y1), (x2, y2), colour, 1 if max(size) < 400 else 2)
    return thumb
