"""DeepLabV3-MobileNetV2 (PASCAL VOC, 257×257) semantic segmentation on ONNX Runtime."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np
import numpy.typing as npt

from veil.detection.onnx_session import create_session
from veil.detection.settings import DetectionConfig
from veil.types import Image, Mask, ObjectClass

__all__ = ["VOC_CLASSES_OF", "DeepLabSegmenter", "Logits"]

_INPUT_SIDE_PX = 257

VOC_CLASSES_OF = MappingProxyType(
    {
        ObjectClass.PERSON: (15,),  # person
        ObjectClass.VEHICLE: (2, 6, 7, 14),  # bicycle, bus, car, motorbike
    }
)
"""Veil class → the PASCAL VOC label ids that show it."""

Logits = npt.NDArray[np.float32]
"""(257, 257, 21) float32 per-class logits for one image."""


class DeepLabSegmenter:
    """Label every pixel with one of the 21 PASCAL VOC classes (0 is background).

    The model sees the whole image squeezed to 257×257; labels at frame size come from bilinearly
    interpolated logits followed by argmax (smoother edges than resizing the label map). Interpolating all
    21 channels over a whole 720p frame costs about 100 ms; :meth:`class_mask` gets one class group's
    pixels for a few ms.
    """

    def __init__(self, model_path: Path, config: DetectionConfig) -> None:
        self._session = create_session(model_path, config)
        self._input_name = self._session.get_inputs()[0].name

    def logits(self, image: Image) -> Logits:
        """Return the (257, 257, 21) logits for ``image`` (RGB)."""
        resized = cv2.resize(image, (_INPUT_SIDE_PX, _INPUT_SIDE_PX), interpolation=cv2.INTER_LINEAR)
        blob = (resized.astype(np.float32) / 127.5 - 1.0)[None]  # NHWC, RGB, [-1, 1]
        (out,) = self._session.run(None, {self._input_name: blob})
        return np.asarray(out[0], np.float32)

    def segment(self, image: Image) -> npt.NDArray[np.uint8]:
        """Return the (H, W) uint8 VOC label map of ``image`` at its own size."""
        height, width = image.shape[:2]
        big = np.asarray(cv2.resize(self.logits(image), (width, height), interpolation=cv2.INTER_LINEAR))
        labels: npt.NDArray[np.uint8] = np.argmax(big, axis=2).astype(np.uint8)
        return labels

    def masks_for(self, image: Image, classes: Collection[ObjectClass]) -> dict[ObjectClass, Mask]:
        """Return, for each of ``classes`` that VOC covers (person, vehicle), its pixels in ``image``."""
        wanted = [cls for cls in classes if cls in VOC_CLASSES_OF]
        if not wanted:
            return {}
        logits = self.logits(image)
        frame_hw = (image.shape[0], image.shape[1])
        return {cls: self.class_mask(logits, frame_hw, VOC_CLASSES_OF[cls]) for cls in wanted}

    @staticmethod
    def class_mask(logits: Logits, frame_hw: tuple[int, int], voc_ids: tuple[int, ...]) -> Mask:
        """Return the (H, W) mask of pixels whose label is one of ``voc_ids``, at frame size.

        Interpolates one margin map (best logit of ``voc_ids`` minus best other logit) instead of all 21
        channels: the same pixels as interpolate-then-argmax except where two foreground classes meet,
        at a twentieth of the cost.
        """
        inside = np.zeros(logits.shape[2], bool)
        inside[list(voc_ids)] = True
        margin = logits[:, :, inside].max(axis=2) - logits[:, :, ~inside].max(axis=2)
        height, width = frame_hw
        mask: Mask = cv2.resize(margin, (width, height), interpolation=cv2.INTER_LINEAR) > 0
        return mask
