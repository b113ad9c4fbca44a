"""Veil's exception tree.

Every error Veil raises on purpose derives from :class:`VeilError`::

    VeilError
    ├── ConfigError                  a setting is out of range or names nothing known
    │   ├── UnknownComponentError    a registry name (detector, anonymizer…) is not known
    │   └── MissingExtraError        an optional dependency is not installed
    ├── ModelError                   model weights cannot be used
    │   ├── ModelNotFoundError       no copy in the models dir, the cache, or by download
    │   └── ChecksumMismatchError    a file's sha256 differs from the pinned one
    ├── MediaError                   input or output media cannot be used
    │   ├── UnreadableMediaError     not media, corrupt, truncated, empty, unsupported codec
    │   │   └── TruncatedMediaError  ends before its declared length or stops decoding part-way
    │   ├── UnsupportedFrameError    zero-size or absurd frame dimensions
    │   └── OutputError              the output cannot be written (path, permissions)
    └── PrivacyError                 anonymization could not be guaranteed for a frame

The CLI maps each class to a one-line message and its own exit code.
"""

from __future__ import annotations

__all__ = [
    "ChecksumMismatchError",
    "ConfigError",
    "MediaError",
    "MissingExtraError",
    "ModelError",
    "ModelNotFoundError",
    "OutputError",
    "PrivacyError",
    "TruncatedMediaError",
    "UnknownComponentError",
    "UnreadableMediaError",
    "UnsupportedFrameError",
    "VeilError",
]


class VeilError(Exception):
    """Base of every error Veil raises on purpose."""


class ConfigError(VeilError):
    """A setting is out of its allowed range or names nothing known."""


class UnknownComponentError(ConfigError):
    """A registry name does not exist; the message lists the valid names."""


class MissingExtraError(ConfigError):
    """An optional dependency is missing; the message names the pip extra that installs it.

    Args:
        message: what needs the missing package, and the ``pip install 'veil[extra]'`` that adds it.
        extra: the name of that extra, so a front end can also say how to add it to a checkout.
    """

    def __init__(self, message: str, extra: str | None = None) -> None:
        super().__init__(message)
        self.extra = extra


class ModelError(VeilError):
    """Model weights cannot be found, verified or loaded."""


class ModelNotFoundError(ModelError):
    """No copy of a model file could be found or downloaded."""


class ChecksumMismatchError(ModelError):
    """A model file's sha256 differs from the pinned value."""


class MediaError(VeilError):
    """Input or output media cannot be used."""


class UnreadableMediaError(MediaError):
    """The input is not media, or is corrupt, truncated, empty or in an unsupported codec."""


class TruncatedMediaError(UnreadableMediaError):
    """The input decodes only in part: it ends before its declared length or fails part-way."""


class UnsupportedFrameError(MediaError):
    """A frame has zero size or dimensions beyond the configured limit."""


class OutputError(MediaError):
    """The output cannot be written: bad path, permissions, or it would overwrite the input."""


class PrivacyError(VeilError):
    """Anonymization of a frame could not be guaranteed, so the run stops."""
