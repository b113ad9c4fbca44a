"""The job routes: submit, list, inspect, fetch results, delete."""

from __future__ import annotations

import json
import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from veil.errors import ConfigError
from veil.service.blobs import BlobKind
from veil.service.context import AppContext, context_of, require
from veil.service.crypto import BlobCorruptError
from veil.service.jobs import IdempotencyConflictError, Job, JobState, NewJob, new_job_id
from veil.service.keys import KeyRecord, Scope
from veil.service.operations import (
    Operation,
    OperationUnavailableError,
    check_available,
    check_options,
    extra_options,
)
from veil.service.options import OPTION_HELP, REMOVAL_HELP, parse_bool, validate_options
from veil.service.schemas import JobList, JobOut
from veil.service.settings import ServiceSettings
from veil.service.uploads import Received, receive_upload
from veil.service.webhooks import check_webhook_url

__all__ = ["JOB_FORM_SCHEMA", "router"]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_RESERVED = {"operation", "retain_original", "webhook_url"}

JOB_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file", "operation"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the image or video to process"},
        "operation": {"type": "string", "enum": [op.value for op in Operation]},
        "retain_original": {"type": "boolean", "description": "keep the encrypted original until the TTL"},
        "webhook_url": {
            "type": "string",
            "format": "uri",
            "description": "POSTed (HMAC-signed) when the job ends",
        },
        **{
            name: {"type": "string", "description": text}
            for name, text in {**OPTION_HELP, **REMOVAL_HELP}.items()
        },
    },
}

Submitter = Annotated[KeyRecord, Depends(require(Scope.SUBMIT))]
Reader = Annotated[KeyRecord, Depends(require(Scope.READ))]
Context = Annotated[AppContext, Depends(context_of)]


def _operation(fields: dict[str, str]) -> Operation:
    name = fields.get("operation", "")
    try:
        operation = Operation(name)
    except ValueError:
        valid = ", ".join(op.value for op in Operation)
        raise HTTPException(422, f"operation={name!r} is not known; valid: {valid}") from None
    try:
        check_available(operation)
    except OperationUnavailableError as exc:
        raise HTTPException(
            status.HTTP_501_NOT_IMPLEMENTED, f"operation {name!r} is not available: {exc}"
        ) from None
    return operation


def _new_job(
    key: KeyRecord, received: Received, idempotency_key: str | None, settings: ServiceSettings
) -> NewJob:
    fields = received.fields
    operation = _operation(fields)
    options = {k: v for k, v in fields.items() if k not in _RESERVED}
    try:
        options = validate_options(options, extra_options(operation), settings.obfuscator)
        size = (received.facts.width, received.facts.height)
        check_options(operation, options, size, obfuscator=settings.obfuscator)
        url = fields.get("webhook_url")
        webhook = check_webhook_url(url, allow_private=settings.allow_private_webhooks) if url else None
        retain = parse_bool("retain_original", fields.get("retain_original", ""))
    except (ConfigError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    return NewJob(
        tenant=key.tenant,
        key_id=key.key_id,
        operation=operation.value,
        options=options,
        input_name=received.file.filename,
        input_sha256=received.file.sha256,
        input_bytes=received.file.size,
        media_kind=received.facts.kind,
        retain_original=retain,
        webhook_url=webhook,
        idempotency_key=idempotency_key,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JobOut,
    summary="Submit a job (multipart upload, streamed to disk)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": JOB_FORM_SCHEMA}}}
    },
    responses={200: {"model": JobOut, "description": "an earlier job with the same Idempotency-Key"}},
)
async def submit_job(
    request: Request,
    key: Submitter,
    context: Context,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")] = None,
) -> JobOut:
    """Upload an image or video and queue the operation on it; the upload is checked first."""
    received = await receive_upload(request, context, context.state.settings.limits.max_upload_bytes)
    state = context.state
    job_id = new_job_id()
    try:
        # In the thread pool: the webhook check resolves the URL's host, which blocks.
        new = await run_in_threadpool(_new_job, key, received, idempotency_key, state.settings)
        await run_in_threadpool(state.blobs.put, job_id, BlobKind.UPLOAD, received.file.path)
        try:
            job, created = state.jobs.submit(new, job_id)
        except IdempotencyConflictError:
            raise HTTPException(409, "this Idempotency-Key was used for a different request") from None
        if not created:
            state.blobs.erase(job_id, BlobKind.UPLOAD)
    except BaseException:
        state.blobs.erase(job_id, BlobKind.UPLOAD)
        raise
    finally:
        received.file.path.unlink(missing_ok=True)
    if created:
        state.audit.record(
            actor=key.key_id,
            tenant=key.tenant,
            action="job.submitted",
            target=job.id,
            detail={"operation": job.operation, "bytes": job.input_bytes, "kind": job.media_kind},
        )
    else:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("", response_model=JobList, summary="List this tenant's jobs, newest first")
def list_jobs(key: Reader, context: Context, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JobList:
    """Return the tenant's latest jobs."""
    return JobList(jobs=[JobOut.of(job) for job in context.state.jobs.recent(key.tenant, limit)])


def _own_job(context: AppContext, key: KeyRecord, job_id: str) -> Job:
    job = context.state.jobs.get(job_id, key.tenant)
    if job is None:  # another tenant's job is indistinguishable from a missing one
        raise HTTPException(404, f"no job {job_id}")
    return job


def _finished_job(context: AppContext, key: KeyRecord, job_id: str) -> Job:
    job = _own_job(context, key, job_id)
    if job.state is JobState.EXPIRED:
        raise HTTPException(410, f"job {job_id}'s result expired and was erased")
    if job.state is JobState.FAILED:
        raise HTTPException(409, f"job {job_id} failed: {job.error}")
    if job.state is not JobState.SUCCEEDED:
        raise HTTPException(409, f"job {job_id} is {job.state.value}; its result is not ready")
    return job


@router.get("/{job_id}", response_model=JobOut, summary="Get a job's state, progress, timings and error")
def get_job(job_id: str, key: Reader, context: Context) -> JobOut:
    """Return the job."""
    return JobOut.of(_own_job(context, key, job_id))


def _verified(context: AppContext, job: Job, kind: BlobKind, sha256: str | None) -> None:
    try:
        ok = context.state.blobs.exists(job.id, kind) and (
            sha256 is None or context.state.blobs.digest(job.id, kind) == sha256
        )
    except BlobCorruptError:
        ok = False
    if not ok:
        raise HTTPException(500, f"job {job.id}'s stored {kind.value} failed verification; it is not served")


@router.get(
    "/{job_id}/result",
    summary="Download the result (only once the job succeeded and the result verified)",
    responses={200: {"content": {"application/octet-stream": {}}}, 409: {"description": "not ready"}},
    response_class=StreamingResponse,
)
def get_result(job_id: str, key: Reader, context: Context) -> StreamingResponse:
    """Stream the decrypted result."""
    job = _finished_job(context, key, job_id)
    _verified(context, job, BlobKind.RESULT, job.result_sha256)
    name = job.result_name or "result"
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    context.state.audit.record(actor=key.key_id, tenant=key.tenant, action="job.result.read", target=job.id)
    return StreamingResponse(
        context.state.blobs.stream(job.id, BlobKind.RESULT),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(job.result_bytes),
            "X-Content-SHA256": job.result_sha256 or "",
        },
    )


@router.get("/{job_id}/detections", summary="The detections JSON (regions found per frame)")
def get_detections(job_id: str, key: Reader, context: Context) -> JSONResponse:
    """Return the job's detections."""
    job = _finished_job(context, key, job_id)
    if not job.has_detections:
        raise HTTPException(404, f"job {job_id} ({job.operation}) has no detections")
    _verified(context, job, BlobKind.DETECTIONS, None)
    body = b"".join(context.state.blobs.stream(job.id, BlobKind.DETECTIONS))
    return JSONResponse(json.loads(body))


@router.get("/{job_id}/report", summary="The run report (frames read, anonymized, written; regions)")
def get_report(job_id: str, key: Reader, context: Context) -> dict[str, Any]:
    """Return the job's report."""
    job = _finished_job(context, key, job_id)
    return job.report or {}


@router.delete(
    "/{job_id}", status_code=204, summary="Cancel the job and erase its files", response_class=Response
)
def delete_job(
    job_id: str, key: Annotated[KeyRecord, Depends(require(Scope.SUBMIT))], context: Context
) -> Response:
    """Cancel (a running worker stops) and erase the job."""
    job = context.state.jobs.delete(job_id, key.tenant)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    context.state.blobs.erase(job.id)
    context.state.audit.record(
        actor=key.key_id,
        tenant=key.tenant,
        action="job.deleted",
        target=job.id,
        detail={"state": job.state.value},
    )
    return Response(status_code=204)
