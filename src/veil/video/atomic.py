"""Write outputs beside their destination and publish them with one atomic rename."""

from __future__ import annotations

import glob
import logging
import os
import secrets
from pathlib import Path

from veil.errors import OutputError

__all__ = ["check_output", "discard", "partial_path", "publish", "write_text_atomically"]

_log = logging.getLogger(__name__)


def partial_path(dst: Path) -> Path:
    """Return a new hidden temporary path an output is written to before it is published as ``dst``.

    Each call names a different file (process id and a random part), so two runs writing the same
    ``dst`` never write into each other's file, and whichever publishes last publishes its own whole
    output. The leading dot keeps a leftover from a killed run out of folder runs and listings.
    """
    return dst.with_name(f".{dst.stem}.{os.getpid()}-{secrets.token_hex(4)}.partial{dst.suffix}")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def check_output(dst: Path, source: Path) -> None:
    """Raise OutputError when ``dst`` is ``source`` itself or its folder cannot take new files."""
    if _same_file(dst, source):
        raise OutputError(f"output {dst} is the input itself: refusing to overwrite the original")
    folder = dst.parent
    if not folder.exists():
        raise OutputError(f"cannot write {dst}: folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"cannot write {dst}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {dst}: no permission to create files in {folder}")
    if dst.is_dir():
        raise OutputError(f"cannot write {dst}: it is a folder")


def publish(partial: Path, dst: Path) -> None:
    """Rename the finished ``partial`` onto ``dst`` atomically (same folder, so never half a file).

    Then removes what killed runs (SIGKILL, power loss) left behind for the same ``dst``: partial
    files whose process no longer exists.
    """
    try:
        partial.replace(dst)
    except OSError as exc:
        discard(partial)
        raise OutputError(f"cannot move the finished output onto {dst}: {exc.strerror}") from exc
    for leftover in dst.parent.glob(f".{glob.escape(dst.stem)}.*.partial{glob.escape(dst.suffix)}"):
        if not _writer_alive(leftover, dst):
            discard(leftover)


def _writer_alive(partial: Path, dst: Path) -> bool:
    """Whether the process named in ``partial`` (``.STEM.PID-RANDOM.partial.SUFFIX``) still runs."""
    middle = partial.name[len(dst.stem) + 2 : -len(f".partial{dst.suffix}")]
    pid_text, _, _ = middle.partition("-")
    if not pid_text.isdigit():
        return True  # not one of ours: leave it
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def discard(partial: Path) -> None:
    """Remove an unfinished output; a missing file is fine."""
    try:
        partial.unlink(missing_ok=True)
    except OSError as exc:
        _log.warning("could not remove the unfinished output %s: %s", partial, exc.strerror)


def write_text_atomically(dst: Path, text: str) -> None:
    """Write ``text`` to ``dst`` through a partial file, so a reader sees the old file or the whole new one.

    Raises:
        OutputError: the folder is missing or unwritable.
    """
    partial = partial_path(dst)
    try:
        partial.write_text(text, encoding="utf-8")
    except OSError as exc:
        discard(partial)
        raise OutputError(f"cannot write {dst}: {exc.strerror}") from exc
    publish(partial, dst)
