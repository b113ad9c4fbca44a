"""Keep server file paths out of what clients see: reports and error messages name files only."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["PathRedactor"]


class PathRedactor:
    """Cut every path under the given folders (and the system's temporary folder) to its file name."""

    def __init__(self, roots: Iterable[Path]) -> None:
        folders = {str(p) for root in roots for p in (Path(root), Path(root).resolve())}
        folders |= {tempfile.gettempdir(), str(Path(tempfile.gettempdir()).resolve())}
        # Longest first, so a folder inside another is cut whole; a folder ends at "/" or a non-path
        # character ("/tmp" is not a prefix of "/tmpdir"); the parts after it are then cut to the last.
        names = "|".join(re.escape(f.rstrip("/")) for f in sorted(folders, key=len, reverse=True))
        self._pattern = re.compile(rf"(?:{names})(?![^/\s'\":,;)\]}}])((?:/[^/\s'\":,;)\]}}]+)*)/?")

    def text(self, text: str) -> str:
        """Return ``text`` with each path under the folders replaced by its last part."""
        return self._pattern.sub(_last_part, text)

    def value(self, value: Any) -> Any:
        """Return a JSON-ready ``value`` (dicts, lists, strings …) with paths cut in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Path):
            return value.name
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def _last_part(match: re.Match[str]) -> str:
    below: str = match.group(1)
    return below.rsplit("/", 1)[-1]
