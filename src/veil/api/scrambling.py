"""Reversible scrambling: encrypt the target regions of a picture or video, and restore them with the key."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from veil.anonymizers.base import Anonymizer
from veil.anonymizers.method_key import MIN_KEY_BYTES
from veil.errors import ConfigError
from veil.pipeline.config import PipelineConfig
from veil.pipeline.frame_processor import FrameProcessor

if TYPE_CHECKING:
    from veil.scramble.run import ScrambleReport

__all__ = ["scramble_path", "unscramble_path"]


def scramble_path(
    src: Path | str,
    dst: Path | str,
    secret: bytes,
    config: PipelineConfig | None = None,
    *,
    regions_path: Path | None = None,
    from_detections: Path | None = None,
) -> ScrambleReport:
    """Encrypt every target region of ``src`` into the lossless ``dst``; write the region list beside it.

    ``secret`` (16+ bytes, see :func:`veil.api.read_method_key`) is never written anywhere; keep it apart
    from the output. :func:`unscramble_path` with the same secret restores the regions bit-exactly.

    >>> scramble_path("door.png", "door.scrambled.png", key)  # doctest: +SKIP
    """
    from veil.scramble.run import scramble_file

    chosen = config or PipelineConfig()

    def make_processor(scrambler: Anonymizer) -> FrameProcessor:
        if from_detections is not None:
            return FrameProcessor(chosen, None, scrambler)
        from veil.detection.registry import build_detectors

        built = build_detectors(chosen.targets, chosen)
        return FrameProcessor(chosen, built.stills, scrambler, built.video)

    _check_secret(secret)
    return scramble_file(
        chosen,
        make_processor,
        Path(src),
        Path(dst),
        secret,
        regions_path=regions_path,
        from_detections=from_detections,
    )


def unscramble_path(
    src: Path | str, dst: Path | str, secret: bytes, *, regions_path: Path | None = None
) -> ScrambleReport:
    """Restore the regions :func:`scramble_path` encrypted in ``src`` into the lossless ``dst``.

    >>> unscramble_path("door.scrambled.png", "door.png", key)  # doctest: +SKIP
    """
    from veil.scramble.run import unscramble_file

    _check_secret(secret)
    return unscramble_file(Path(src), Path(dst), secret, regions_path=regions_path)


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_KEY_BYTES:
        raise ConfigError(f"the key has {len(secret)} bytes; scrambling needs at least {MIN_KEY_BYTES}")
