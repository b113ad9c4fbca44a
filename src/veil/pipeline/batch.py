"""Walk a folder of media and mirror it into an output folder."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from veil.errors import MediaError, OutputError, UnreadableMediaError
from veil.pipeline.config import RunOptions
from veil.pipeline.preview import ContactSheet
from veil.pipeline.report import RunReport
from veil.video.probe import looks_like_media, probe_media

__all__ = ["MediaScan", "iter_media_files", "run_tree", "scan_media_files"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaScan:
    """What a folder holds: media to process, media that cannot be read (with why), and other files.

    ``hidden`` counts the hidden files that were not looked at (a killed run's leftover partial output
    is one).
    """

    media: list[Path]
    unreadable: list[tuple[Path, str]]
    others: list[Path]
    hidden: int = 0


def scan_media_files(root: Path) -> MediaScan:
    """Sort every non-hidden file below ``root`` into media, unreadable media and other files.

    A file is media when its content is an image or a video. One that is not, but is named like media
    (``.mp4``, ``.jpg``…) or starts like it (a JPEG, MP4, Matroska… signature), is unreadable media —
    damaged, empty or mislabelled — and never skipped quietly; anything else (sidecar JSON, notes) is
    another file. Hidden files and folders are not looked at.
    """
    media: list[Path] = []
    unreadable: list[tuple[Path, str]] = []
    others: list[Path] = []
    hidden = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file():
            continue
        if any(part.startswith(".") for part in rel.parts):
            hidden += 1
            continue
        try:
            probe_media(path)
        except UnreadableMediaError as exc:
            if looks_like_media(path):
                unreadable.append((path, str(exc)))
            else:
                others.append(path)
            continue
        media.append(path)
    return MediaScan(media, unreadable, others, hidden)


def iter_media_files(root: Path) -> Iterator[Path]:
    """Yield every readable image or video file below ``root`` in sorted order; hidden files are ignored."""
    yield from scan_media_files(root).media


def run_tree(
    src_root: Path,
    dst_root: Path,
    options: RunOptions,
    run_one: Callable[[Path, Path, RunOptions, ContactSheet | None], RunReport],
) -> RunReport:
    """Run ``run_one`` on every media file under ``src_root``, mirroring the tree into ``dst_root``.

    A file named or starting like media that cannot be read, or that fails with a media error, is
    recorded in ``report.failures`` (``REL_PATH: reason``) and the batch goes on; other files are
    counted in ``report.warnings``; hidden files and folders (a killed run's leftover partial output
    among them) are never read; any other error stops the batch. With ``options.detect_only`` each
    input's ``STEM.detections.json`` goes to its place in ``dst_root``, which may be ``src_root``
    itself. With ``options.preview``, one sheet shows the first frame of the first few files.
    """
    # Detections JSONs may go into the input tree (beside each input, by default): a later folder run
    # counts them as other files. Anonymized media there would be read again as input.
    if not options.detect_only and dst_root.resolve().is_relative_to(src_root.resolve()):
        raise OutputError(f"output folder {dst_root} is inside the input folder {src_root}")
    report = RunReport()
    sheet = ContactSheet() if options.preview is not None and not options.detect_only else None
    scan = scan_media_files(src_root)
    for path, reason in scan.unreadable:
        _fail(report, path.relative_to(src_root), _without_path(reason, path))
    if scan.others:
        names = ", ".join(str(p.relative_to(src_root)) for p in scan.others[:5])
        more = f" and {len(scan.others) - 5} more" if len(scan.others) > 5 else ""
        _log.warning("left out %d file(s) that are not images or videos: %s%s", len(scan.others), names, more)
        report.warnings.append(f"left out {len(scan.others)} file(s) that are not images or videos")
    if not scan.media and not scan.unreadable:
        hidden = f" ({scan.hidden} hidden file(s) not looked at)" if scan.hidden else ""
        _log.warning("no images or videos in %s%s", src_root, hidden)
        report.warnings.append(f"no images or videos in {src_root}{hidden}")
    for src in scan.media:
        rel = src.relative_to(src_root)
        dst = dst_root / rel
        if options.detect_only:  # the JSON itself: never the input's own path
            dst = dst.with_name(f"{src.stem}.detections.json")
        dst.parent.mkdir(parents=True, exist_ok=True)
        per_file = options
        if options.from_detections is not None:
            per_file = _with_detections(
                options, options.from_detections / rel.parent / f"{src.stem}.detections.json"
            )
        try:
            report.merge(run_one(src, dst, per_file, sheet))
        except MediaError as exc:
            _fail(report, rel, _without_path(str(exc), src))
    if sheet is not None and options.preview is not None:
        sheet.save(options.preview)
    return report


def _fail(report: RunReport, rel: Path, reason: str) -> None:
    _log.error("%s: %s", rel, reason)
    report.inputs += 1
    report.failures.append(f"{rel}: {reason}")


def _without_path(reason: str, path: Path) -> str:
    """Drop the file name a media error starts with: the failure line names the file already."""
    for prefix in (f"{path}: ", f"{path.name}: "):
        reason = reason.removeprefix(prefix)
    return reason


def _with_detections(options: RunOptions, path: Path) -> RunOptions:
    from dataclasses import replace

    return replace(options, from_detections=path)
