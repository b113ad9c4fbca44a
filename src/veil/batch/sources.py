"""Turn a batch's SRC arguments (files, folders, globs, list files) into inputs and their output places."""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from veil.errors import ConfigError, UnreadableMediaError
from veil.pipeline.batch import scan_media_files
from veil.video.probe import probe_media

__all__ = ["LIST_SUFFIXES", "BatchInput", "Sources", "expand_sources"]

_log = logging.getLogger(__name__)

LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
"""A SRC with one of these suffixes is a list file: one path or glob a line, ``#`` starts a comment."""

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class BatchInput:
    """One media file and where its output goes, relative to the output folder."""

    src: Path
    rel: Path


@dataclass
class Sources:
    """What the SRC arguments name: the inputs, the ones that cannot be used (with why), other files."""

    inputs: list[BatchInput] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)


def expand_sources(sources: Sequence[str | Path]) -> Sources:
    """Expand every SRC: a folder's tree is mirrored (as ``veil anonymize`` does), a file goes by its name.

    Raises:
        ConfigError: two inputs would write the same output.
    """
    found = Sources()
    for source in sources:
        _expand(str(source), found, seen_lists=frozenset())
    by_rel: dict[Path, Path] = {}
    unique: list[BatchInput] = []
    for item in found.inputs:
        earlier = by_rel.get(item.rel)
        if earlier is not None and earlier.resolve() == item.src.resolve():
            continue  # named twice (a file and a glob over it): one input
        if earlier is not None:
            raise ConfigError(f"{earlier} and {item.src} would both be written as {item.rel}")
        by_rel[item.rel] = item.src
        unique.append(item)
    found.inputs = unique
    return found


def _expand(text: str, found: Sources, seen_lists: frozenset[Path]) -> None:
    path = Path(text)
    if path.is_dir():
        scan = scan_media_files(path)
        found.inputs.extend(BatchInput(p, p.relative_to(path)) for p in scan.media)
        found.failures.extend((str(p), reason) for p, reason in scan.unreadable)
        found.others.extend(scan.others)
        return
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        resolved = path.resolve()
        if resolved in seen_lists:
            raise ConfigError(f"list file {path} lists itself")
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry:
                named = Path(entry) if Path(entry).is_absolute() else path.parent / entry
                _expand(str(named), found, seen_lists | {resolved})
        return
    if path.is_file():
        try:
            probe_media(path)
        except UnreadableMediaError as exc:
            found.failures.append((str(path), str(exc)))
            return
        found.inputs.append(BatchInput(path, Path(path.name)))
        return
    if _GLOB_CHARS & set(text):
        matches = sorted(glob.glob(text, recursive=True))  # noqa: PTH207 - a pattern that may be absolute
        if not matches:
            found.failures.append((text, "matches no file"))
        for match in matches:
            if Path(match).is_file() or Path(match).is_dir():
                _expand(match, found, seen_lists)  # it exists: never globbed again
        return
    found.failures.append((text, "does not exist"))
