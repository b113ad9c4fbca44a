"""Warp: each region pushed around by a smooth random field, the same field for a track in every frame."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from veil.anonymizers._output import redraw_regions
from veil.anonymizers._region_info import Region, region_digest
from veil.checks import check_range
from veil.detections import Detections
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
        check_range("amplitude_ratio", self.amplitude_ratio, 0.01, 1.0)
        check_range("grid_cells", self.grid_cells, 2, 32)

    def apply(self, image: Image, detections: Detections, *, out: Image | None = None) -> Image:
        """Return ``image`` with every region warped; never modify ``image`` unless it is ``out``."""

        def redraw(region: Region, patch: Image) -> Image:
            digest = region_digest(self.secret, _PURPOSE, detections, region.row)
            map_x, map_y = self._maps(
                patch.shape[:2], self.amplitude_ratio * region.side_px, int.from_bytes(digest[:8], "little")
            )
            # Samples are taken from the region's own box; past its edge the box is mirrored, so nothing
            # from outside the box is pulled in.
            warped = cv2.remap(patch, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            return np.ascontiguousarray(warped, np.uint8)

        return redraw_regions(image, detections, out, redraw)

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
