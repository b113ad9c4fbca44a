"""The API's response bodies (pydantic lives only in the service)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from veil.service.jobs import Job

__all__ = ["AuditEntryOut", "JobList", "JobOut", "Timings"]


class Timings(BaseModel):
    """Seconds spent waiting and running (None until known)."""

    queued_s: float | None = Field(description="from submission to the start of the last attempt")
    run_s: float | None = Field(description="processing time of the successful attempt")
    total_s: float | None = Field(description="from submission to the end")


class JobOut(BaseModel):
    """A job's state, progress, timings and error."""

    id: str
    state: str = Field(description="queued, running, succeeded, failed or expired")
    operation: str
    progress: float = Field(ge=0.0, le=1.0)
    frames_done: int
    frames_total: int | None
    attempts: int
    max_attempts: int
    error: str | None
    input_name: str
    media_kind: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    expires_at: float | None
    timings: Timings
    result_name: str | None
    result_bytes: int | None
    has_detections: bool
    links: dict[str, str]

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """Describe ``job``."""
        base = f"/v1/jobs/{job.id}"
        links = {"self": base}
        if job.state.value == "succeeded":
            links |= {"result": f"{base}/result", "report": f"{base}/report"}
            if job.has_detections:
                links["detections"] = f"{base}/detections"
        return cls(
            id=job.id,
            state=job.state.value,
            operation=job.operation,
            progress=job.progress,
            frames_done=job.frames_done,
            frames_total=job.frames_total,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            error=job.error,
            input_name=job.input_name,
            media_kind=job.media_kind,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            expires_at=job.expires_at,
            timings=Timings(
                queued_s=job.started_at - job.created_at if job.started_at else None,
                run_s=job.run_s,
                total_s=job.finished_at - job.created_at if job.finished_at else None,
            ),
            result_name=job.result_name,
            result_bytes=job.result_bytes,
            has_detections=job.has_detections,
            links=links,
        )


class JobList(BaseModel):
    """A page of jobs, newest first."""

    jobs: list[JobOut]


class AuditEntryOut(BaseModel):
    """One audit log entry."""

    seq: int
    at: float
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    hash: str
