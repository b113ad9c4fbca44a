"""Build detectors by name and compose the default detector for a set of target classes.

Model backends are listed as ``"module:Class"`` and imported only when built, so importing Veil (or
``veil --help``) loads no ONNX Runtime or OpenCV model code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from veil.detection.base import Detector
from veil.detection.settings import DetectorChoices, Precision
from veil.detection.timing import DetectorTimes
from veil.errors import ConfigError, UnknownComponentError
from veil.types import ObjectClass

__all__ = [
    "BACKENDS",
    "BackendSpec",
    "DetectorPair",
    "backend_class",
    "build_detector",
    "build_detectors",
    "create_backend",
]


@dataclass(frozen=True)
class BackendSpec:
    """One model backend: where its class lives and which catalog model it loads."""

    target: str  # "module:Class"
    model_key: str  # key for veil.models.store.resolve_model


BACKENDS: Mapping[str, BackendSpec] = MappingProxyType(
    {
        "yunet": BackendSpec("veil.detection.yunet:YuNetDetector", "yunet"),
        "centerface": BackendSpec("veil.detection.centerface:CenterFaceDetector", "centerface"),
        "lpd_yunet": BackendSpec("veil.detection.lpd_yunet:LpdYuNetDetector", "lpd_yunet"),
        "yolox": BackendSpec("veil.detection.yolox:YoloxDetector", "yolox_nano"),
        "ppocr_text": BackendSpec("veil.detection.ppocr_text:TextDetector", "ppocr_det"),
        "deeplab": BackendSpec("veil.detection.deeplab:DeepLabSegmenter", "deeplabv3"),
    }
)
"""Backend name → spec; every backend takes ``(model_path, DetectionConfig, **options)``."""

# Input sizes (long side, px), chosen from each model's CPU time per 720p frame (figures:
# docs/tuning.md, "Detector input sizes"). YuNet runs at the frame's detection size (the user's
# resolution knob): it is the cheap detector that finds small, far-away faces. CenterFace is the second
# opinion for blurred and turned faces, which are rarely tiny, so it runs smaller. Plate text is
# searched in vehicle crops, where a smaller side covers the plates as well as PaddleOCR's usual 960
# does; free-standing TEXT uses that 960.
_CENTERFACE_LONG_SIDE_PX = 480
# Frames smaller than the detection size are grown for YuNet, by at most this much: its smallest
# anchors miss faces under ~10 px, which crowds in low-resolution CCTV are made of; twice the size finds
# most of them for about 2.5 times the detection time (figures: docs/tuning.md, "Detector input sizes").
_YUNET_MAX_ENLARGE = 2.0
_PLATE_TEXT_LONG_SIDE_PX = 640
# A busy street holds more cars than a car park's worth of crops is worth; far ones are cheap to search.
_PLATE_MAX_VEHICLES = 24
_TEXT_LONG_SIDE_PX = 960
_TILE_OVERLAP_RATIO = 0.25
_TILED_CLASSES = frozenset({ObjectClass.FACE, ObjectClass.LICENSE_PLATE})


def backend_class(name: str) -> type[Any]:
    """Return the class of backend ``name``, importing its module now.

    Raises:
        UnknownComponentError: ``name`` is not a backend; the message lists the valid names.
    """
    try:
        spec = BACKENDS[name]
    except KeyError:
        valid = ", ".join(sorted(BACKENDS))
        raise UnknownComponentError(f"unknown detector {name!r}; valid detectors: {valid}") from None
    module_name, _, class_name = spec.target.partition(":")
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create_backend(name: str, config: DetectorChoices, **options: Any) -> Any:
    """Return backend ``name`` built on its model file (found via ``config.models_dir``).

    With ``config.detection.precision`` int8, a backend with a checked int8 model that passed its
    agreement check runs that one (:func:`veil.detection.quantize.int8_model`); the others run in float
    and a log line says why.
    """
    from veil.models.store import resolve_model

    cls = backend_class(name)
    path = resolve_model(BACKENDS[name].model_key, config.models_dir)
    if config.detection.precision is Precision.INT8:
        from veil.detection.quantize import RECIPES, int8_model

        if name in RECIPES:
            model = int8_model(name, path)
            if model is not None:
                options = {**options, "int8_model": model}
    return cls(path, config.detection, **options)


@dataclass(frozen=True)
class DetectorPair:
    """The detector for still images and the one for video detection frames; they share their models.

    ``times`` sums the time each model backend took (by backend name), for ``--profile``.
    """

    stills: Detector
    video: Detector
    times: DetectorTimes


def build_detectors(targets: frozenset[ObjectClass], config: DetectorChoices) -> DetectorPair:
    """Return the detectors for ``targets``: every model for stills, the level's choice for detection frames.

    Detection frames leave CenterFace out unless ``config.face_second_opinion``: on video, faces
    are found on several detection frames of their track, and the gap filler hides them on the frames
    between, so the second opinion buys little there for a quarter of the detection time.
    """
    times = DetectorTimes()
    composer = _Composer(config, times)
    stills = composer.build(targets, face_second_opinion=True)
    if config.face_second_opinion or ObjectClass.FACE not in targets:
        return DetectorPair(stills, stills, times)
    return DetectorPair(stills, composer.build(targets, face_second_opinion=False), times)


def build_detector(targets: frozenset[ObjectClass], config: DetectorChoices) -> Detector:
    """Return one detector for ``targets``, composed from Veil's default backends.

    Faces: YuNet and CenterFace together (recall first); an unsure face on a vehicle or of vehicle size
    is kept only if CenterFace also sees it on a close-up crop (:class:`FaceEvidence`). Plates:
    LPD-YuNet plus text found on YOLOX vehicles. Persons and vehicles: YOLOX boxes refined to DeepLab
    silhouettes. Text: PP-OCR. Each model is loaded once even when several parts use it. Frames are
    shrunk to ``config.detection.detect_long_side_px`` first; with ``config.detection.tile`` faces and
    plates are also searched in full-resolution tiles.
    """
    return _Composer(config).build(targets)


class _Composer:
    """Build each backend at most once while composing a detector (timed into ``times`` when given)."""

    def __init__(self, config: DetectorChoices, times: DetectorTimes | None = None) -> None:
        self._config = config
        self._times = times
        self._made: dict[str, Any] = {}
        self._shared_yolox = False

    def _backend(self, name: str, **options: Any) -> Any:
        from veil.detection.timing import TimedBackend

        backend = create_backend(name, self._config, **options)
        return backend if self._times is None else TimedBackend(name, backend, self._times)

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def _thresholds(self, classes: frozenset[ObjectClass]) -> dict[ObjectClass, float]:
        return {cls: self._config.threshold(cls) for cls in classes}

    def _yolox(self) -> Detector:
        made: Detector = self._once("yolox", self._new_yolox)
        return made

    def _new_yolox(self) -> Detector:
        from veil.detection.cache import LastImageCache

        yolox: Detector = self._backend("yolox")
        if self._shared_yolox:
            # The plate search and the person/vehicle silhouettes both ask for the same frame.
            return LastImageCache(yolox)
        return yolox

    def build(self, targets: frozenset[ObjectClass], face_second_opinion: bool = True) -> Detector:
        from veil.detection.resize import ResizedDetector
        from veil.detection.tiling import TiledDetector

        if not targets:
            raise ConfigError("no target classes given; valid classes: " + _class_names())
        detection = self._config.detection
        bodies = targets & frozenset({ObjectClass.PERSON, ObjectClass.VEHICLE})
        # YOLOX serves the face check, the plate search and the silhouettes: one run per frame for all.
        face_check = ObjectClass.FACE in targets and detection.face_evidence
        users = (face_check, ObjectClass.LICENSE_PLATE in targets, bool(bodies))
        self._shared_yolox = sum(users) >= 2
        tiled: list[Detector] = []
        whole: list[Detector] = []
        for classes, make in self._parts(targets, face_second_opinion):
            (tiled if detection.tile and classes <= _TILED_CLASSES else whole).append(make())
        groups: list[Detector] = []
        if tiled:
            whole_side = detection.detect_long_side_px or None
            groups.append(
                TiledDetector(
                    self._join(tiled, targets),
                    detection.tile_size_px,
                    _TILE_OVERLAP_RATIO,
                    whole_long_side_px=whole_side,
                )
            )
        if whole:
            joined = self._join(whole, targets)
            if detection.detect_long_side_px:
                joined = ResizedDetector(joined, detection.detect_long_side_px)
            groups.append(joined)
        return self._join(groups, targets)

    def _parts(
        self, targets: frozenset[ObjectClass], face_second_opinion: bool
    ) -> list[tuple[frozenset[ObjectClass], Callable[[], Detector]]]:
        parts: list[tuple[frozenset[ObjectClass], Callable[[], Detector]]] = []
        if ObjectClass.FACE in targets:
            parts.append((frozenset({ObjectClass.FACE}), lambda: self._faces(face_second_opinion)))
        if ObjectClass.LICENSE_PLATE in targets:
            parts.append((frozenset({ObjectClass.LICENSE_PLATE}), lambda: self._once("plates", self._plates)))
        bodies = targets & frozenset({ObjectClass.PERSON, ObjectClass.VEHICLE})
        if bodies:
            parts.append((bodies, lambda: self._once("silhouettes", lambda: self._silhouettes(bodies))))
        if ObjectClass.TEXT in targets:
            parts.append((frozenset({ObjectClass.TEXT}), lambda: self._once("text", self._text)))
        return parts

    def _join(self, parts: list[Detector], targets: frozenset[ObjectClass]) -> Detector:
        from veil.detection.ensemble import EnsembleDetector

        if len(parts) == 1:
            return parts[0]
        return EnsembleDetector(parts, self._thresholds(targets))

    def _faces(self, second_opinion: bool) -> Detector:
        from veil.detection.ensemble import EnsembleDetector
        from veil.detection.face_evidence import FaceEvidence
        from veil.detection.resize import ResizedDetector

        detection = self._config.detection
        yunet: Detector = self._once("yunet", lambda: self._backend("yunet"))
        if detection.detect_long_side_px and not detection.tile:
            yunet = ResizedDetector(yunet, detection.detect_long_side_px, max_enlarge=_YUNET_MAX_ENLARGE)
        centerface: Detector = self._once("centerface", lambda: self._backend("centerface"))
        faces = yunet
        if second_opinion:
            faces = EnsembleDetector(
                [yunet, ResizedDetector(centerface, _CENTERFACE_LONG_SIDE_PX)],
                self._thresholds(frozenset({ObjectClass.FACE})),
            )
        if not detection.face_evidence:
            return faces
        # Unsure faces on vehicles or of vehicle size need CenterFace's word on a close-up crop.
        return FaceEvidence(
            faces, self._yolox(), centerface, min_score=self._config.threshold(ObjectClass.FACE)
        )

    def _plates(self) -> Detector:
        from veil.detection.plates import PlateDetector

        text = self._backend(
            "ppocr_text",
            max_long_side_px=_PLATE_TEXT_LONG_SIDE_PX,
            label=ObjectClass.LICENSE_PLATE,
        )
        return PlateDetector(
            text,
            self._yolox(),
            self._backend("lpd_yunet"),
            max_vehicles=_PLATE_MAX_VEHICLES,
        )

    def _silhouettes(self, classes: frozenset[ObjectClass]) -> Detector:
        from veil.detection.selection import SelectClasses
        from veil.detection.silhouettes import SilhouetteDetector

        deeplab = self._backend("deeplab")
        return SilhouetteDetector(SelectClasses(self._yolox(), classes), deeplab)

    def _text(self) -> Detector:
        made: Detector = self._backend("ppocr_text", max_long_side_px=_TEXT_LONG_SIDE_PX)
        return made


def _class_names() -> str:
    return ", ".join(c.value for c in ObjectClass)
