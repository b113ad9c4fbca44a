"""Create ONNX Runtime sessions with Veil's provider and thread choices."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from veil.detection.settings import DetectionConfig, Device
from veil.errors import MissingExtraError, ModelError

__all__ = ["create_session", "preferred_providers"]

_log = logging.getLogger(__name__)

# Best first; CPU is always available and always last.
_PROVIDER_PREFERENCE = ("CUDAExecutionProvider", "OpenVINOExecutionProvider", "CPUExecutionProvider")

# "Automatic" threads: one per session. Veil already runs decoding, detection, flow and encoding on
# threads of their own (and the service its requests), so an intra-op pool only competes with them: it
# costs more CPU per frame for no wall time (figures: docs/tuning.md, "Detector input sizes").
_AUTOMATIC_THREADS = 1


def preferred_providers(requested: tuple[str, ...] = (), device: Device = Device.AUTO) -> list[str]:
    """Return the providers to use: ``requested`` if given, else those ``device`` asks for.

    Raises:
        ModelError: a requested provider is not installed.
        MissingExtraError: ``device`` is CUDA and ONNX Runtime has no CUDA provider here.
    """
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    if device is Device.CPU and not requested:
        return ["CPUExecutionProvider"]
    if device is Device.CUDA and not requested:
        if "CUDAExecutionProvider" not in available:
            raise MissingExtraError(
                "--device cuda needs ONNX Runtime with CUDA (onnxruntime-gpu, in place of onnxruntime) "
                f"and a GPU; this one offers {', '.join(sorted(available))}: pip install 'veil[gpu]'",
                extra="gpu",
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise ModelError(
                f"ONNX Runtime provider(s) {', '.join(missing)} not installed; available: "
                f"{', '.join(sorted(available))}"
            )
        return list(requested)
    return [p for p in _PROVIDER_PREFERENCE if p in available] or ["CPUExecutionProvider"]


def create_session(model: Path | bytes, config: DetectionConfig) -> Any:
    """Return an ``onnxruntime.InferenceSession`` for ``model`` (a path, or serialized bytes).

    Raises:
        ModelError: the file is not a loadable ONNX model.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = config.intra_op_threads or _AUTOMATIC_THREADS
    options.inter_op_num_threads = 1
    # Spinning threads busy-wait for the next run; the decoder and encoder threads need those cycles.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = str(model) if isinstance(model, Path) else model
    name = model.name if isinstance(model, Path) else "in-memory model"
    providers = preferred_providers(config.providers, config.device)
    try:
        session = ort.InferenceSession(source, sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own untyped errors for unreadable models
        raise ModelError(f"cannot load ONNX model {name}: {exc}") from exc
    _check_device(name, config, session.get_providers())
    return session


def _check_device(name: str, config: DetectionConfig, used: list[str]) -> None:
    """Refuse a CUDA session that ended up on the CPU; say where an automatic choice landed.

    ONNX Runtime with CUDA falls back to the CPU by itself when no GPU, driver or cuDNN answers, so
    the provider list asked for does not prove where the model runs: the session's own list does.

    Raises:
        ModelError: ``--device cuda`` was asked for and CUDA did not start.
    """
    on_gpu = "CUDAExecutionProvider" in used
    if config.device is Device.CUDA and not config.providers and not on_gpu:
        raise ModelError(
            f"--device cuda: ONNX Runtime could not start CUDA for {name} (no GPU, or its driver, "
            "CUDA or cuDNN libraries are missing); use --device auto or cpu to run on the CPU"
        )
    if config.device is Device.AUTO and not config.providers and not on_gpu:
        _log.info(
            "%s runs on the CPU (--device auto found no working CUDA; pip install 'veil[gpu]' and a GPU "
            "add it)",
            name,
        )
    else:
        _log.debug("%s runs on %s", name, ", ".join(used))
