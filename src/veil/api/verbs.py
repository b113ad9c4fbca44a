"""The verbs beside anonymization: remove objects, audit and evaluate, write their reports and pages.

Removal and the evaluation code load when their verb runs, so importing the API stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from veil.anonymizers.base import Anonymizer
from veil.batch import BatchReport, BatchSettings
from veil.detection.base import Detector
from veil.detection.quantize import QuantizedModel
from veil.evaluation.annotations import DatasetFormat
from veil.evaluation.audit_options import AuditOptions
from veil.evaluation.audit_report import AuditReport
from veil.evaluation.eval_options import EvalOptions
from veil.evaluation.eval_report import EvalReport
from veil.models.catalog import CATALOG, ModelSpec
from veil.pipeline.config import PipelineConfig, RunOptions
from veil.pipeline.runner import Progress
from veil.removal import RemovalReport, RemovalSettings
from veil.video.atomic import write_text_atomically

__all__ = [
    "JsonReport",
    "audit",
    "batch",
    "evaluate",
    "list_models",
    "quantize_models",
    "remove",
    "save_audit_html",
    "save_eval_html",
    "save_eval_plot",
    "save_report",
]


def list_models() -> list[ModelSpec]:
    """Return every model Veil can use, with its source, licence and checksum."""
    return list(CATALOG.values())


def quantize_models(
    calibration: list[Path], *, models_dir: Path | None = None, force: bool = False
) -> list[QuantizedModel]:
    """Derive the int8 detectors from the float models, calibrated on frames of ``calibration``.

    ``calibration`` names images, videos or folders of them; half their frames calibrate, the other
    half measure each int8 model's agreement with float, recorded beside it in the cache. A run with
    ``DetectionConfig(precision=Precision.INT8)`` loads the ones that passed. Checked models already in
    the cache are kept unless ``force``.

    Example::

        for model in veil.api.quantize_models([Path("street.mp4")]):
            print(model.backend, model.passed, model.agreement.recall)

    Raises:
        ModelNotFoundError: a float model file is missing (the message names it).
        ConfigError: no frame could be read from ``calibration``.
        ModelError: a model cannot be quantized.
        OSError: the cache folder cannot be written.
    """
    from veil.pipeline.quantize import quantize_detectors

    return quantize_detectors(calibration, models_dir=models_dir, force=force)


class JsonReport(Protocol):
    """A run's report that can be written as JSON: :class:`RunReport`, :class:`LiveReport`, a removal's."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values."""
        ...


def save_report(report: JsonReport, path: Path) -> None:
    """Write ``report`` as JSON to ``path``, whole or not at all.

    Raises:
        OutputError: ``path``'s folder is missing or unwritable.
    """
    import json

    write_text_atomically(path, json.dumps(report.to_dict()) + "\n")


def remove(
    src: Path | str,
    dst: Path | str,
    settings: RemovalSettings | None = None,
    *,
    still_object: bool = False,
    detector: Detector | None = None,
) -> RemovalReport:
    """Remove persons and vehicles from video ``src`` into ``dst``, filled with the background.

    ``still_object``: the object stays put (a parked car), named by ``settings.box_xyxy`` or
    ``settings.track_id``; otherwise everything moving, one track, or what lies in the box.

    >>> report = remove("street.mp4", "street.clean.mp4")  # doctest: +SKIP
    """
    from veil.removal import remove_dynamic_object, remove_static_object

    if still_object:
        return remove_static_object(src, dst, settings or RemovalSettings(), detector=detector)
    return remove_dynamic_object(src, dst, settings, detector=detector)


def batch(
    sources: Sequence[str | Path],
    out_dir: Path | str,
    config: PipelineConfig | None = None,
    options: RunOptions | None = None,
    settings: BatchSettings | None = None,
    progress: Progress | None = None,
    *,
    detector: Detector | None = None,
    anonymizer: Anonymizer | None = None,
) -> BatchReport:
    """Anonymize files, folders, globs or list files into ``out_dir``, resumably, locally or on Ray.

    Long videos are split into segments of about ``settings.segment_s`` seconds, run in parallel and
    joined back; ``out_dir/.veil-batch`` records what is done, so a re-run redoes only the rest. An
    input that fails is in ``report.failures`` and the others finish.

    >>> report = batch(["archive/", "extra.mp4"], "anonymized/")  # doctest: +SKIP
    """
    from veil.batch import run_batch

    return run_batch(
        sources,
        Path(out_dir),
        config or PipelineConfig(),
        options,
        settings,
        progress,
        detector=detector,
        anonymizer=anonymizer,
    )


def audit(
    anonymized: Path | str,
    original: Path | str,
    options: AuditOptions | None = None,
    progress: Progress | None = None,
    *,
    truth: Path | None = None,
    truth_format: DatasetFormat | None = None,
) -> AuditReport:
    """Attack ``anonymized`` media where ``original`` shows identifying content; report what leaks.

    >>> report = audit("street.anon.mp4", "street.mp4")  # doctest: +SKIP
    """
    from veil.evaluation.audit import audit_paths

    return audit_paths(
        Path(anonymized), Path(original), options, progress, truth=truth, truth_format=truth_format
    )


def evaluate(
    dataset: Path | str,
    options: EvalOptions | None = None,
    progress: Progress | None = None,
    *,
    dataset_format: DatasetFormat | None = None,
) -> EvalReport:
    """Measure anonymization methods' privacy, utility and speed on an annotated data set.

    >>> report = evaluate("data/wider_face_val")  # doctest: +SKIP
    """
    from veil.evaluation.evaluate import evaluate_dataset

    return evaluate_dataset(Path(dataset), options, progress, dataset_format=dataset_format)


def save_audit_html(report: AuditReport, path: Path) -> None:
    """Write an audit report as one self-contained HTML file (tables, timeline, thumbnails)."""
    from veil.evaluation.audit_html import write_audit_html

    write_audit_html(report, Path(path))


def save_eval_html(report: EvalReport, path: Path) -> None:
    """Write an evaluation, its table and its privacy–utility plot as one HTML file."""
    from veil.evaluation.eval_html import write_eval_html

    write_eval_html(report, Path(path))


def save_eval_plot(report: EvalReport, path: Path) -> None:
    """Write an evaluation's privacy–utility scatter plot as a PNG file."""
    from veil.evaluation.eval_html import write_scatter_png

    write_scatter_png(report, Path(path))
