"""One exit code per kind of failure, so scripts can tell them apart."""

from __future__ import annotations

import enum

from veil.errors import (
    ConfigError,
    MissingExtraError,
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
    MODEL = 3  # a component is missing: model missing, corrupt or unloadable, or an optional extra
    INPUT = 4  # input unreadable, corrupt, unsupported
    OUTPUT = 5  # output cannot be written
    PRIVACY = 6  # anonymization could not be guaranteed; nothing written
    PARTIAL = 7  # a batch finished but some files failed
    LEAK = 8  # veil audit: a leak rate is over the --fail-over limit
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT): nothing half-written is left
    TERMINATED = 143  # SIGTERM (128 + SIGTERM): cleaned up as on Ctrl-C


# Most specific first: OutputError and UnsupportedFrameError are MediaErrors, MissingExtraError a
# ConfigError.
_CODES: tuple[tuple[type[VeilError], ExitCode], ...] = (
    (OutputError, ExitCode.OUTPUT),
    (UnsupportedFrameError, ExitCode.INPUT),
    (MissingExtraError, ExitCode.MODEL),
    (ConfigError, ExitCode.USAGE),
    (ModelError, ExitCode.MODEL),
    (PrivacyError, ExitCode.PRIVACY),
    (VeilError, ExitCode.INPUT),
)


def exit_code_for(error: VeilError) -> ExitCode:
    """Return the exit code of ``error``."""
    return next(code for cls, code in _CODES if isinstance(error, cls))
