"""One exit code per kind of failure, so scripts can tell them apart."""

from __future__ import annotations

import enum

from veil.errors import (
    ConfigError,
    ModelError,
    OutputError,
    PrivacyError,
    UnsupportedFrameError,
    VeilError,
)

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """Process exit status of the ``veil`` command."""

    OK = 0
    UNEXPECTED = 1  # a bug: please report it
    USAGE = 2  # bad option or value (click's own code too)
    MODEL = 3  # model missing, corrupt or unloadable
    INPUT = 4  # input unreadable, corrupt, unsupported
    OUTPUT = 5  # output cannot be written
    PRIVACY = 6  # anonymization could not be guaranteed; nothing written
    PARTIAL = 7  # a batch finished but some files failed
    LEAK = 8  # veil audit: a leak rate is over the --fail-over limit


# Most specific first: OutputError and UnsupportedFrameError are MediaErrors too.
_CODES: tuple[tuple[type[VeilError], ExitCode], ...] = (
    (OutputError, ExitCode.OUTPUT),
    (UnsupportedFrameError, ExitCode.INPUT),
    (ConfigError, ExitCode.USAGE),
    (ModelError, ExitCode.MODEL),
    (PrivacyError, ExitCode.PRIVACY),
    (VeilError, ExitCode.INPUT),
)


def exit_code_for(error: VeilError) -> ExitCode:
    """Return the exit code of ``error``."""
    return next(code for cls, code in _CODES if isinstance(error, cls))
