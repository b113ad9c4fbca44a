"""Reversible scrambling: region pixels encrypted with a key, restored bit-exactly by ``veil unscramble``.

Each region's pixels are replaced by their AES-256-GCM ciphertext under a nonce of its own; the tags,
nonces and where each region lies go into a region list (the sidecar, ``OUTPUT.veil-regions``), itself
encrypted with the key. Without the key the regions are noise; with it they come back exactly, or a
clear error says why not (wrong key, pixels or list changed). Only lossless outputs are accepted: PNG
images, FFV1 video in Matroska.
"""
