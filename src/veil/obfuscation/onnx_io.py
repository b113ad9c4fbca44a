"""The contract between a trained obfuscator file and the code that applies it (no torch needed)."""

from __future__ import annotations

__all__ = ["EXPECTED", "INPUT_NAME", "KIND", "METADATA_KIND", "METADATA_SIZE_MULTIPLE", "OUTPUT_NAME"]

INPUT_NAME = "frames"
OUTPUT_NAME = "obfuscated"
METADATA_KIND = "veil.kind"
METADATA_SIZE_MULTIPLE = "veil.size_multiple"
KIND = "obfuscator"
EXPECTED = "one float32 input N×3×H×W (RGB in [0, 1], H and W free) and one float32 output of the same shape"
"""What an obfuscator ONNX file must take and give, as error messages say it."""
