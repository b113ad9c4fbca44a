"""The learned whole-frame obfuscator: train it (``veil[train]``, PyTorch), export and apply it (ONNX).

Only :mod:`veil.obfuscation.training`, :mod:`~veil.obfuscation.network`, :mod:`~veil.obfuscation.losses`,
:mod:`~veil.obfuscation.onnx_torch` and :mod:`~veil.obfuscation.export` import torch; applying a trained
model (:mod:`veil.obfuscation.apply`) needs ONNX Runtime only.
"""
