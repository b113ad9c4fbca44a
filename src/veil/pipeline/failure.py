"""Decide what a failure on one frame does: stop the run, or let the frame be hidden whole."""

from __future__ import annotations

import logging

from veil.errors import PrivacyError, VeilError
from veil.pipeline.config import FailMode

__all__ = ["fail_closed"]

_log = logging.getLogger(__name__)


def fail_closed(fail_mode: FailMode, index: int, step: str, exc: Exception) -> None:
    """Raise :class:`PrivacyError` under ``ABORT``; under ``HIDE_FRAME`` log that the frame is hidden whole.

    ``step`` names what failed ("detection", "anonymization"). The caller hides the frame when this returns.
    """
    if fail_mode is FailMode.ABORT:
        kind = "" if isinstance(exc, VeilError) else f"{type(exc).__name__}: "
        raise PrivacyError(f"frame {index}: {step} failed ({kind}{exc}); nothing written") from exc
    _log.warning("frame %d hidden whole after %s failed: %s", index, step, exc)
