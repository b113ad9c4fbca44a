"""Batches over many files and long videos: a resumable manifest, segments, local or Ray workers.

See :func:`run_batch`; the ``veil batch`` command and :func:`veil.api.batch` call it.
"""

from __future__ import annotations

from veil.batch.engines import BatchEngine
from veil.batch.run import RUN_DIR, BatchReport, BatchSettings, InputReport, run_batch

__all__ = ["RUN_DIR", "BatchEngine", "BatchReport", "BatchSettings", "InputReport", "run_batch"]
