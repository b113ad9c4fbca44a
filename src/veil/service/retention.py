"""Erase what a job must not keep once it ends, on every path that ends one.

A job ends in a worker (succeeded, failed), in the pool (a worker died on the last attempt, a lease ran
out), at start-up (the server stopped while it ran), by DELETE and by expiry. Each of these erases the
plaintext scratch folder and, unless the request asked to retain it, the encrypted upload. A process
can die between a job's end and that erasure, so :func:`sweep` also runs at start-up and periodically,
erasing whatever the store no longer needs.
"""

from __future__ import annotations

import logging
import time

from veil.service.blobs import BlobKind, BlobStore
from veil.service.jobs import Job, JobState, JobStore

__all__ = ["ENDED", "erase_after_end", "sweep"]

_log = logging.getLogger(__name__)

ENDED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.EXPIRED})
# A submission stores its upload a moment before the job's row; a blob without a row is left alone
# for longer than that takes (the database's busy timeout included).
_ORPHAN_GRACE_S = 300.0


def erase_after_end(blobs: BlobStore, job: Job) -> None:
    """Erase an ended job's scratch folder, and its upload unless the request asked to retain it."""
    blobs.erase_scratch(job.id)
    if not job.retain_original:
        blobs.erase(job.id, BlobKind.UPLOAD)


def sweep(blobs: BlobStore, jobs: JobStore, now: float | None = None) -> int:
    """Erase scratch folders and blobs no live job needs; return how many were erased.

    A scratch folder stays only while its job runs. A blob goes when its job expired, was deleted (no
    row), or ended without asking to retain its upload (uploads only); staged and partly written blobs
    go unless the job still runs.
    """
    now = time.time() if now is None else now
    scratch = list(blobs.scratch_jobs())
    stored = list(blobs.stored())
    held = jobs.holdings([*scratch, *(job_id for job_id, _ in stored)])
    erased = 0
    for job_id in scratch:
        state = held.get(job_id, (None, False))[0]
        if state is None or state in ENDED:
            blobs.erase_scratch(job_id)
            erased += 1
    for job_id, path in stored:
        if job_id not in held:
            try:
                young = now - path.stat().st_mtime < _ORPHAN_GRACE_S
            except FileNotFoundError:
                continue
            if young:
                continue
            drop = True
        else:
            state, retain = held[job_id]
            name = path.name.split(".")  # job id, kind, and a suffix while not final
            kind, partial = (name[1] if len(name) > 1 else ""), len(name) > 2
            drop = (
                state is JobState.EXPIRED
                or (partial and state is not JobState.RUNNING)
                or (kind == BlobKind.UPLOAD.value and state in ENDED and not retain)
            )
        if drop:
            path.unlink(missing_ok=True)
            erased += 1
    if erased:
        _log.info("erased %d files that no live job needed", erased)
    return erased
