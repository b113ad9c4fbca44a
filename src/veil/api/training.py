"""Train a learned whole-frame obfuscator (the ``train`` extra: PyTorch)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from veil.errors import ConfigError, MissingExtraError
from veil.obfuscation.config import TrainConfig

__all__ = ["train_obfuscator"]


def train_obfuscator(
    inputs: Iterable[Path],
    output: Path,
    config: TrainConfig | None = None,
    *,
    work_dir: Path | None = None,
    restart: bool = False,
    per_video: int = 32,
    share: float = 0.7,
    device: str = "auto",
    threads: int = 0,
    models_dir: Path | None = None,
    on_step: Callable[[Any], None] | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train a whole-frame obfuscator on the frames of ``inputs`` and write it to ``output`` (ONNX).

    Image files are used whole; of each video, ``per_video`` frames spread over its first ``share``
    (the rest stays unseen, for evaluation). The checkpoint, a CSV/JSON log and a loss plot go to
    ``work_dir`` (default: ``OUTPUT.train`` beside the output); a run finds its checkpoint there and
    resumes, unless ``restart``. Needs the ``train`` extra (PyTorch).

    >>> veil.train_obfuscator([Path("clip.mp4")], Path("obfuscator.onnx"))  # doctest: +SKIP

    Raises:
        MissingExtraError: PyTorch is not installed.
        ConfigError: no frames in ``inputs``, or a checkpoint from other settings.
    """
    try:
        from veil.obfuscation.training import train_obfuscator as train
    except ImportError as exc:
        raise MissingExtraError(
            f"training an obfuscator needs PyTorch ({exc.name} is missing): pip install 'veil[train]'",
            extra="train",
        ) from None
    from veil.models.store import resolve_model

    if not 0.0 < share <= 1.0:
        raise ConfigError(f"share={share} is out of range (0, 1]")
    if per_video < 1:
        raise ConfigError(f"per_video={per_video} must be at least 1")
    work = work_dir or output.with_name(output.name + ".train")
    if restart and work.exists():
        for name in ("checkpoint.pt", "log.csv", "log.json", "losses.png"):
            (work / name).unlink(missing_ok=True)
    return train(
        list(inputs),
        output,
        lambda: resolve_model("yolox_nano", models_dir),
        config or TrainConfig(),
        work_dir=work,
        per_video=per_video,
        share=share,
        device=device,
        threads=threads,
        on_step=on_step,
        stop_after=stop_after,
    )
