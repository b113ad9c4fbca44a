"""Warp: each region pushed around by a smooth random field, the same field for a track in every frame."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from veil.anonymizers._output import output_for, write_inside
from veil.anonymizers._region_info import ensure_changed, object_side_px, region_digest
from veil.detections import Detections
from veil.errors import ConfigError
from veil.regions import region_crop
from veil.types import Image

__all__ = ["Warp"]

# Lattice vectors as long as the object's side, 16 lattice cells across it: the field folds the region onto
# itself many times, so eyes and mouth no longer sit where a face has them. Gentler fields leave a bent face
# that YuNet or CenterFace still find (the figures are in docs/methods.md).
DEFAULT_AMPLITUDE_RATIO = 1.0
DEFAULT_GRID_CELLS = 16
_PURPOSE = b"veil-warp-field"


@dataclass(frozen=True)
class Warp:
    """Resample each region through a smooth random displacement field whose amplitude follows its size.

    The field is laid out in the region's own coordinates (a ``grid_cells`` × ``grid_cells`` lattice of
    random vectors over its box, interpolated smoothly), so a track keeps its field as it moves and
    scales: the distortion does not flicker. Each track's field comes from a keyed hash of its id under a
    secret drawn for this anonymizer, so it cannot be undone by knowing the id.

    Args:
        amplitude_ratio: standard deviation of a lattice vector, as a share of the object's mean side.
        grid_cells: lattice size across the region; more cells make a finer, more scrambled field.
        secret: seeds the fields; by default random for each anonymizer (each run).
    """

    amplitude_ratio: float = DEFAULT_AMPLITUDE_RATIO
    grid_cells: int = DEFAULT_GRID_CELLS
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        if not 0.01 <= self.amplitude_ratio <= 1.0:
            raise ConfigError(f"amplitude_ratio={self.amplitude_ratio!r} is out of range [0.01, 1]")
        if not 2 <= self.grid_cells <= 32:
            raise ConfigError(f"grid_cells={self.grid_cells!r} is out of range [2, 32]")

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region warped; never modify ``image`` unless it is ``out``."""
        result = output_for(image, out)
        frame_hw = (result.shape[0], result.shape[1])
        for i in range(len(detections)):
            crop = region_crop(detections, i, frame_hw)
            if crop is None:
                continue
            side = object_side_px(detections, i, crop)
            amplitude = self.amplitude_ratio * side
            seed = int.from_bytes(region_digest(self.secret, _PURPOSE, detections, i)[:8], "little")
            original = result[crop.slices].copy()
            map_x, map_y = self._maps(original.shape[:2], amplitude, seed)
            # Samples are taken from the region's own box; past its edge the box is mirrored, so nothing
            # from outside the box is pulled in.
            warped = cv2.remap(original, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            values: Image = np.ascontiguousarray(warped, np.uint8)
            ensure_changed(values, original, crop.mask)
            write_inside(result, crop, values)
        return result

    def _maps(
        self, hw: tuple[int, int], amplitude: float, seed: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        height, width = hw
        rng = np.random.default_rng(seed)
        lattice = rng.normal(0.0, amplitude, (2, self.grid_cells + 1, self.grid_cells + 1)).astype(np.float32)
        # Cubic interpolation of the lattice keeps the field continuous: no seams at lattice cell edges.
        dx = cv2.resize(lattice[0], (width, height), interpolation=cv2.INTER_CUBIC)
        dy = cv2.resize(lattice[1], (width, height), interpolation=cv2.INTER_CUBIC)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        return np.ascontiguousarray(xs + dx), np.ascontiguousarray(ys + dy)
