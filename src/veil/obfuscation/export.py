"""Export a trained obfuscator to ONNX and check the file computes what the PyTorch model does."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from veil.errors import ModelError
from veil.obfuscation.network import SIZE_MULTIPLE, Obfuscator
from veil.obfuscation.onnx_io import INPUT_NAME, KIND, METADATA_KIND, METADATA_SIZE_MULTIPLE, OUTPUT_NAME

__all__ = ["check_export", "export_onnx"]

_OPSET = 17
# ONNX Runtime's fused kernels round differently from PyTorch's; 8-bit output steps are 0.0039.
_TOLERANCE = 1e-3


def export_onnx(model: Obfuscator, path: Path, *, metadata: dict[str, str] | None = None) -> None:
    """Write ``model`` to ``path`` as ONNX: any batch, height and width (multiples of 16).

    The file names itself an obfuscator in its metadata, with ``metadata`` (training settings) beside.
    """
    model = model.eval()
    sample = torch.rand(1, 3, 4 * SIZE_MULTIPLE, 6 * SIZE_MULTIPLE)
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (sample,),
            buffer,  # type: ignore[arg-type]  # a file object is accepted, the stub says path only
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=_OPSET,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    entries = {METADATA_KIND: KIND, METADATA_SIZE_MULTIPLE: str(SIZE_MULTIPLE), **(metadata or {})}
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(proto.SerializeToString())
    partial.replace(path)


def check_export(
    model: Obfuscator, path: Path, *, height: int = 192, width: int = 320, seed: int = 0
) -> float:
    """Return the largest difference between ``model`` and its ONNX file at ``path`` on a random batch.

    Raises:
        ModelError: the difference is over the tolerance.
    """
    import onnxruntime as ort

    generator = torch.Generator().manual_seed(seed)
    batch = torch.rand(2, 3, height, width, generator=generator)
    with torch.no_grad():
        expected = model.eval()(batch).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})[0]
    difference = float(np.abs(got - expected).max())
    if difference > _TOLERANCE:
        raise ModelError(
            f"{path.name}: ONNX output differs from PyTorch's by {difference:.2g} (> {_TOLERANCE})"
        )
    return difference
