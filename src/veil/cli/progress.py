"""A rich progress bar with frames/s and ETA, fed by the runner's progress protocol."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import ProgressColumn as _Column
from rich.text import Text

from veil.api import RunReport

__all__ = ["FrameProgress", "LineProgress", "human_summary", "progress_for"]


class _FramesPerSecond(_Column):
    def render(self, task: object) -> Text:
        speed = getattr(task, "speed", None)
        return Text(f"{speed:5.1f} fps" if speed else "  ... fps", style="progress.data.speed")


class FrameProgress:
    """Show one bar per input on stderr; silent when ``enabled`` is False."""

    def __init__(self, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _FramesPerSecond(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, label: str, total: int | None) -> None:
        """Begin a bar for one input."""
        if self._task is not None:
            self._bar.update(self._task, visible=True)
        self._task = self._bar.add_task(label, total=total)

    def advance(self, frames: int = 1) -> None:
        """Move the current bar on."""
        if self._task is not None:
            self._bar.advance(self._task, frames)

    def __enter__(self) -> FrameProgress:
        self._bar.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()


class LineProgress:
    """Progress for logs and pipes (no terminal): one line per input every ``every_s`` seconds."""

    def __init__(self, every_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every_s = every_s
        self._clock = clock
        self._label = ""
        self._total: int | None = None
        self._done = 0
        self._started = 0.0
        self._last = 0.0

    def start(self, label: str, total: int | None) -> None:
        """Begin counting one input."""
        self._label, self._total, self._done = label, total, 0
        self._started = self._last = self._clock()

    def advance(self, frames: int = 1) -> None:
        """Count frames; print a line when ``every_s`` has passed since the last."""
        self._done += frames
        now = self._clock()
        if now - self._last >= self._every_s:
            self._last = now
            click.echo(f"veil: {self._label}: {self._line(now)}", err=True)

    def _line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        if self._total is None:
            return f"{self._done} frames, {rate:.1f} fps"
        share = self._done / self._total if self._total else 1.0
        left = (self._total - self._done) / rate if rate > 0 else float("inf")
        return f"{self._done}/{self._total} frames ({share:.0%}), {rate:.1f} fps, {left:.0f} s left"

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def progress_for(*, quiet: bool) -> FrameProgress | LineProgress:
    """Return a bar on a terminal, lines in a log or pipe, or (``quiet``) a bar that stays hidden."""
    if quiet or sys.stderr.isatty():
        return FrameProgress(enabled=not quiet)
    return LineProgress()


def human_summary(report: RunReport, *, detect_only: bool = False) -> str:
    """Return one line for people: what was read and hidden (or found), how fast, how many inputs failed."""
    regions = ", ".join(
        f"{n} {cls.value}" for cls, n in sorted(report.regions.items(), key=lambda kv: kv[0].value)
    )
    inputs = f"{report.inputs} input{'s' if report.inputs != 1 else ''}"
    timing = f"in {report.elapsed_s:.1f} s ({report.frames_per_s:.1f} fps)"
    if detect_only:
        frames = f"{report.frames_read} frame{'s' if report.frames_read != 1 else ''}"
        line = f"detections of {frames} from {inputs} written {timing}; regions found: "
    else:
        line = f"{report.frames_written} of {report.frames_read} frames written from {inputs} {timing}; "
        line += "regions hidden: "
    line += regions or "none"
    if report.failures:
        line += f"; {len(report.failures)} failed"
    return line
