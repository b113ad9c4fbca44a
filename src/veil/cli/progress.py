"""A rich progress bar with frames/s and ETA, fed by the runner's progress protocol."""

from __future__ import annotations

from types import TracebackType

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

__all__ = ["FrameProgress"]


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
