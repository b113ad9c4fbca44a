"""The run directory's manifest: every input and segment of a batch and how far each has got (SQLite).

Each change of state is one transaction, made after the output it records has been published and read
back: a run killed at any point leaves either the old row or the new one, and an output is counted as
done only once it is verified. Write-ahead logging with full syncs keeps committed rows through a
power loss. Only the process that drives the batch writes here.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from veil.batch.segments import Segment
from veil.errors import OutputError

__all__ = ["InputRow", "Manifest", "State"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
    id INTEGER PRIMARY KEY,
    src TEXT NOT NULL UNIQUE,
    dst TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    frames INTEGER,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    elapsed_s REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS segments (
    input_id INTEGER NOT NULL REFERENCES inputs (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL,
    context_start INTEGER NOT NULL,
    context_end INTEGER NOT NULL,
    seek_pts INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    attempts INTEGER NOT NULL DEFAULT 0,
    elapsed_s REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (input_id, number)
);
"""


class State(enum.Enum):
    """Where an input or a segment stands."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class InputRow:
    """One input as the manifest records it."""

    id: int
    src: Path
    dst: Path
    frames: int | None
    state: State
    error: str | None
    attempts: int
    elapsed_s: float


class Manifest:
    """The SQLite manifest at ``path``; use it as a context manager.

    ``settings`` is a fingerprint of what the outputs depend on (the configuration and run options):
    a manifest made with other settings is emptied, since none of its outputs would be what this run
    asks for.
    """

    def __init__(self, path: Path, settings: str) -> None:
        self.path = path
        self._settings = settings
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open the batch manifest {self.path}: {exc}") from exc
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(_SCHEMA)
        self._db = db
        with self._transaction() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
            if row is None or row[0] != self._settings:
                cur.execute("DELETE FROM segments")
                cur.execute("DELETE FROM inputs")
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('settings', ?)", (self._settings,))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("Manifest is not open: use it as a context manager")
        return self._db

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def input_for(self, src: Path, dst: Path) -> InputRow:
        """Return the row of ``src``, added (pending) if new, started afresh if the file changed."""
        stat = src.stat()
        key = str(src.resolve())
        with self._transaction() as cur:
            row = cur.execute("SELECT id, dst, size, mtime_ns FROM inputs WHERE src = ?", (key,)).fetchone()
            if row is not None and (row[1], row[2], row[3]) != (str(dst), stat.st_size, stat.st_mtime_ns):
                cur.execute("DELETE FROM inputs WHERE id = ?", (row[0],))
                row = None
            if row is None:
                cur.execute(
                    "INSERT INTO inputs (src, dst, size, mtime_ns, state) VALUES (?, ?, ?, ?, 'pending')",
                    (key, str(dst), stat.st_size, stat.st_mtime_ns),
                )
        return self._input_where("src = ?", key)

    def _input_where(self, where: str, value: object) -> InputRow:
        row = self._conn.execute(
            "SELECT id, src, dst, frames, state, error, attempts, elapsed_s FROM inputs WHERE " + where,
            (value,),
        ).fetchone()
        return InputRow(row[0], Path(row[1]), Path(row[2]), row[3], State(row[4]), row[5], row[6], row[7])

    def get(self, input_id: int) -> InputRow:
        """Return the row of input ``input_id``."""
        return self._input_where("id = ?", input_id)

    def inputs(self) -> list[InputRow]:
        """Return every input row, in the order they were added."""
        ids = [r[0] for r in self._conn.execute("SELECT id FROM inputs ORDER BY id")]
        return [self.get(i) for i in ids]

    def set_segments(self, input_id: int, frames: int, segments: Sequence[Segment]) -> list[Segment]:
        """Record ``input_id``'s frame count and segments, unless the same plan is already there.

        Returns the segments still pending.
        """
        with self._transaction() as cur:
            planned = [_segment(r) for r in cur.execute(_SELECT_SEGMENTS, (input_id,))]
            if planned != list(segments):
                cur.execute("DELETE FROM segments WHERE input_id = ?", (input_id,))
                cur.executemany(
                    "INSERT INTO segments (input_id, number, start_frame, end_frame, context_start, "
                    "context_end, seek_pts, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                    [
                        (input_id, s.number, s.start, s.end, s.context_start, s.context_end, s.seek_pts)
                        for s in segments
                    ],
                )
            cur.execute("UPDATE inputs SET frames = ? WHERE id = ?", (frames, input_id))
        return self.pending_segments(input_id)

    def pending_segments(self, input_id: int) -> list[Segment]:
        """Return the segments of ``input_id`` not yet done."""
        pending = _SELECT_SEGMENTS.replace("ORDER BY", "AND state = 'pending' ORDER BY")
        return [_segment(r) for r in self._conn.execute(pending, (input_id,))]

    def segments(self, input_id: int) -> list[Segment]:
        """Return every segment of ``input_id``, in order."""
        return [_segment(r) for r in self._conn.execute(_SELECT_SEGMENTS, (input_id,))]

    def segment_attempts(self, input_id: int) -> int:
        """Return how many times the segments of ``input_id`` were started, all together."""
        row = self._conn.execute(
            "SELECT COALESCE(SUM(attempts), 0) FROM segments WHERE input_id = ?", (input_id,)
        ).fetchone()
        return int(row[0])

    def started(self, input_id: int, number: int) -> None:
        """Count one more attempt at a unit (``number`` -1: the whole input)."""
        with self._transaction() as cur:
            if number < 0:
                cur.execute("UPDATE inputs SET attempts = attempts + 1 WHERE id = ?", (input_id,))
            else:
                cur.execute(
                    "UPDATE segments SET attempts = attempts + 1 WHERE input_id = ? AND number = ?",
                    (input_id, number),
                )

    def segment_done(self, input_id: int, number: int, elapsed_s: float) -> None:
        """Mark a segment done: call only after its output was published and verified."""
        with self._transaction() as cur:
            cur.execute(
                "UPDATE segments SET state = 'done', elapsed_s = ? WHERE input_id = ? AND number = ?",
                (elapsed_s, input_id, number),
            )

    def finish(
        self,
        input_id: int,
        state: State,
        *,
        error: str | None = None,
        elapsed_s: float = 0.0,
        frames: int | None = None,
    ) -> None:
        """Mark an input done (its output published and verified) or failed, with why."""
        with self._transaction() as cur:
            cur.execute(
                "UPDATE inputs SET state = ?, error = ?, elapsed_s = elapsed_s + ?, "
                "frames = COALESCE(?, frames) WHERE id = ?",
                (state.value, error, elapsed_s, frames, input_id),
            )

    def reopen(self, input_id: int) -> None:
        """Make a done or failed input pending again (its output is missing, or it failed before)."""
        with self._transaction() as cur:
            cur.execute("UPDATE inputs SET state = 'pending', error = NULL WHERE id = ?", (input_id,))


_SELECT_SEGMENTS = (
    "SELECT number, start_frame, end_frame, context_start, context_end, seek_pts FROM segments "
    "WHERE input_id = ? ORDER BY number"
)


def _segment(row: tuple[int, int, int, int, int, int]) -> Segment:
    return Segment(*row)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception (a kill leaves the old state)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Cursor:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db.cursor()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
