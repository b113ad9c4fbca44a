"""The front door: every public verb and the configuration types a caller builds.

The verbs: anonymize an image array, a file, a folder or frames one by one (:func:`open_pipeline`,
:func:`anonymize_image`, :func:`anonymize_path`, :func:`anonymize_video`), :func:`detect`,
:func:`stream` a live source, :func:`batch` many files and long videos (resumable, local or on
Ray), :func:`remove` persons and vehicles, :func:`audit` anonymized media and
:func:`evaluate` methods on a data set. The CLI, the service and the edge client call only this module
(and the core types and errors). The pipeline handle lives in :mod:`veil.api.session`, the other
verbs in :mod:`veil.api.verbs`; the configuration types come from the stages that own them.

Example::

    import veil
    from veil.api import PipelineConfig
    from veil.types import ObjectClass

    config = PipelineConfig(targets=frozenset({ObjectClass.FACE}))
    with veil.open_pipeline(config) as pipeline:     # models load once here
        for frame in frames:                         # H×W×3 uint8 RGB arrays
            safe = pipeline.process(frame)
"""

from __future__ import annotations

from veil.anonymizers.method import Method
from veil.anonymizers.method_key import read_method_key
from veil.api.obfuscator import check_obfuscator
from veil.api.scrambling import scramble_path, unscramble_path
from veil.api.session import (
    Pipeline,
    anonymize_image,
    anonymize_path,
    anonymize_video,
    detect,
    open_pipeline,
    stream,
)
from veil.api.training import train_obfuscator
from veil.api.verbs import (
    JsonReport,
    audit,
    batch,
    evaluate,
    list_models,
    quantize_models,
    remove,
    save_audit_html,
    save_eval_html,
    save_eval_plot,
    save_report,
)
from veil.batch import BatchEngine, BatchReport, BatchSettings, InputReport
from veil.detection.quantize import Agreement, QuantizedModel
from veil.detection.settings import DetectionConfig, Device, Precision
from veil.evaluation.annotations import DatasetFormat
from veil.evaluation.audit_options import AUDITED_CLASSES, LEAK_CLASSES, AuditOptions
from veil.evaluation.audit_report import AuditReport
from veil.evaluation.eval_options import COMPARED_METHODS, EvalMethod, EvalOptions
from veil.evaluation.eval_report import EvalReport
from veil.live import LiveReport, LiveSettings
from veil.models.catalog import ModelSpec
from veil.models.store import ModelStatus, fetch_models, verify_models
from veil.obfuscation.config import TrainConfig, UtilityLoss
from veil.pipeline.choices import (
    WHOLE_FRAME_METHOD,
    UserChoices,
    parse_methods,
    parse_targets,
    parse_thresholds,
)
from veil.pipeline.config import DEFAULT_TARGETS, FailMode, PipelineConfig, PrivacyPolicy, RunOptions
from veil.pipeline.privacy_level import PrivacyLevel, PrivacyPreset, preset_for
from veil.pipeline.profile import StageTime
from veil.pipeline.report import RunReport
from veil.pipeline.runner import Progress
from veil.propagation.settings import TemporalConfig
from veil.removal import REMOVABLE_CLASSES, RemovalReport, RemovalSettings
from veil.video.settings import EncoderConfig, OutputSettings

__all__ = [
    "AUDITED_CLASSES",
    "COMPARED_METHODS",
    "DEFAULT_TARGETS",
    "LEAK_CLASSES",
    "REMOVABLE_CLASSES",
    "WHOLE_FRAME_METHOD",
    "Agreement",
    "AuditOptions",
    "AuditReport",
    "BatchEngine",
    "BatchReport",
    "BatchSettings",
    "DatasetFormat",
    "DetectionConfig",
    "Device",
    "EncoderConfig",
    "EvalMethod",
    "EvalOptions",
    "EvalReport",
    "FailMode",
    "InputReport",
    "JsonReport",
    "LiveReport",
    "LiveSettings",
    "Method",
    "ModelSpec",
    "ModelStatus",
    "OutputSettings",
    "Pipeline",
    "PipelineConfig",
    "Precision",
    "PrivacyLevel",
    "PrivacyPolicy",
    "PrivacyPreset",
    "Progress",
    "QuantizedModel",
    "RemovalReport",
    "RemovalSettings",
    "RunOptions",
    "RunReport",
    "StageTime",
    "TemporalConfig",
    "TrainConfig",
    "UserChoices",
    "UtilityLoss",
    "anonymize_image",
    "anonymize_path",
    "anonymize_video",
    "audit",
    "batch",
    "check_obfuscator",
    "detect",
    "evaluate",
    "fetch_models",
    "list_models",
    "open_pipeline",
    "parse_methods",
    "parse_targets",
    "parse_thresholds",
    "preset_for",
    "quantize_models",
    "read_method_key",
    "remove",
    "save_audit_html",
    "save_eval_html",
    "save_eval_plot",
    "save_report",
    "scramble_path",
    "stream",
    "train_obfuscator",
    "unscramble_path",
    "verify_models",
]
