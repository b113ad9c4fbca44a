"""Privacy measurement: annotated image sets, face, plate and person attacks, audits and evaluations.

The public verbs are :func:`audit_paths` (attack anonymized media where its original shows identifying
content) and :func:`evaluate_dataset` (run anonymization methods over an annotated data set and
measure privacy, utility and speed). They are imported lazily, so ``veil --help`` loads no model code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veil.evaluation.annotations import DatasetFormat
    from veil.evaluation.audit import audit_paths
    from veil.evaluation.audit_options import AUDITED_CLASSES, LEAK_CLASSES, AuditOptions
    from veil.evaluation.audit_report import AuditReport
    from veil.evaluation.eval_options import COMPARED_METHODS, EvalMethod, EvalOptions
    from veil.evaluation.eval_report import EvalReport
    from veil.evaluation.evaluate import evaluate_dataset

__all__ = [
    "AUDITED_CLASSES",
    "COMPARED_METHODS",
    "LEAK_CLASSES",
    "AuditOptions",
    "AuditReport",
    "DatasetFormat",
    "EvalMethod",
    "EvalOptions",
    "EvalReport",
    "audit_paths",
    "evaluate_dataset",
]

_HOMES = {
    "AUDITED_CLASSES": "veil.evaluation.audit_options",
    "COMPARED_METHODS": "veil.evaluation.eval_options",
    "LEAK_CLASSES": "veil.evaluation.audit_options",
    "AuditOptions": "veil.evaluation.audit_options",
    "AuditReport": "veil.evaluation.audit_report",
    "DatasetFormat": "veil.evaluation.annotations",
    "EvalMethod": "veil.evaluation.eval_options",
    "EvalOptions": "veil.evaluation.eval_options",
    "EvalReport": "veil.evaluation.eval_report",
    "audit_paths": "veil.evaluation.audit",
    "evaluate_dataset": "veil.evaluation.evaluate",
}


def __getattr__(name: str) -> Any:
    try:
        module = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'veil.evaluation' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
