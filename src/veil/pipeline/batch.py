"""Walk a folder of media and mirror it into an output folder."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from veil.errors import MediaError, OutputError, UnreadableMediaError
from veil.pipeline.config import RunOptions
from veil.pipeline.preview import ContactSheet
from veil.pipeline.report import RunReport
from veil.video.probe import probe_media

__all__ = ["iter_media_files", "run_tree"]

_log = logging.getLogger(__name__)


def iter_media_files(root: Path) -> Iterator[Path]:
    """Yield every image or video file below ``root`` in sorted order; hidden files are ignored."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        try:
            probe_media(path)
        except UnreadableMediaError:
            _log.info("skipping %s: not an image or video", rel)
            continue
        yield path


def run_tree(
    src_root: Path,
    dst_root: Path,
    options: RunOptions,
    run_one: Callable[[Path, Path, RunOptions, ContactSheet | None], RunReport],
) -> RunReport:
    """Run ``run_one`` on every media file under ``src_root``, mirroring the tree into ``dst_root``.

    A file that fails with a media error is recorded in ``report.failures`` and the batch goes on;
    any other error stops the batch. With ``options.preview``, one sheet shows the first frame of the
    first few files.
    """
    if dst_root.resolve().is_relative_to(src_root.resolve()):
        raise OutputError(f"output folder {dst_root} is inside the input folder {src_root}")
    report = RunReport()
    sheet = ContactSheet() if options.preview is not None and not options.detect_only else None
    for src in iter_media_files(src_root):
        rel = src.relative_to(src_root)
        dst = dst_root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        per_file = options
        if options.from_detections is not None:
            per_file = _with_detections(
                options, options.from_detections / rel.parent / f"{src.stem}.detections.json"
            )
        try:
            report.merge(run_one(src, dst, per_file, sheet))
        except MediaError as exc:
            _log.error("%s: %s", rel, exc)
            report.inputs += 1
            report.failures.append(f"{rel}: {exc}")
    if sheet is not None and options.preview is not None:
        sheet.save(options.preview)
    return report


def _with_detections(options: RunOptions, path: Path) -> RunOptions:
    from dataclasses import replace

    return replace(options, from_detections=path)
