"""Synchronous anonymization of one image: upload, wait, get the anonymized image back."""

from __future__ import annotations

import mimetypes
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from veil.api import PipelineConfig, RunOptions
from veil.errors import ConfigError, VeilError
from veil.service.context import AppContext, context_of, require
from veil.service.image_slots import ImageSlot, TenantQueueFullError
from veil.service.keys import KeyRecord, Scope
from veil.service.media_check import media_suffix
from veil.service.options import OPTION_HELP, build_config, validate_options
from veil.service.redaction import PathRedactor
from veil.service.uploads import receive_upload

__all__ = ["router"]

router = APIRouter(tags=["images"])

_IMAGE_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "a JPEG, PNG, WebP, BMP or TIFF image"},
        **{name: {"type": "string", "description": text} for name, text in OPTION_HELP.items()},
    },
}


def _anonymize(slot: ImageSlot, src: Path, dst: Path, config: PipelineConfig) -> None:
    slot.pipeline(config).anonymize_file(src, dst, RunOptions())


def _queue_full(tenant: str) -> HTTPException:
    return HTTPException(
        429, f"tenant {tenant!r} has too many images waiting; retry shortly", {"Retry-After": "1"}
    )


@router.post(
    "/v1/images:anonymize",
    summary="Anonymize one image synchronously",
    response_class=Response,
    openapi_extra={
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _IMAGE_FORM_SCHEMA}}}
    },
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "the anonymized image"}},
)
async def anonymize_image(
    request: Request,
    key: Annotated[KeyRecord, Depends(require(Scope.SUBMIT))],
    context: Annotated[AppContext, Depends(context_of)],
) -> Response:
    """Return the uploaded image with faces and plates (or the asked-for targets) hidden."""
    started = time.perf_counter()
    settings = context.state.settings
    if context.images.waiting(key.tenant) >= settings.image_queue_per_tenant:
        raise _queue_full(key.tenant)  # before the upload is read: a full queue costs nothing more
    received = await receive_upload(request, context, settings.limits.max_image_bytes)
    scratch = context.state.blobs.scratch("")
    try:
        if received.facts.kind != "image":
            raise HTTPException(415, "this endpoint takes a single image; submit videos to /v1/jobs")
        limits = settings.limits
        try:
            options = validate_options(received.fields, obfuscator=settings.obfuscator)
            max_pixels = limits.max_width_px * limits.max_height_px
            config = build_config(options, max_pixels=max_pixels, obfuscator=settings.obfuscator)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        suffix = media_suffix(received.file.filename, "image")
        src, dst = scratch / f"input{suffix}", scratch / f"output{suffix}"
        received.file.path.replace(src)
        try:
            async with context.images.hold(key.tenant) as slot:
                await run_in_threadpool(_anonymize, slot, src, dst, config)
        except TenantQueueFullError:
            raise _queue_full(key.tenant) from None
        except VeilError as exc:
            message = PathRedactor([settings.data_dir]).text(str(exc))
            raise HTTPException(422, f"the image could not be anonymized: {message}") from None
        body = dst.read_bytes()
    finally:
        received.file.path.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    context.state.audit.record(
        actor=key.key_id, tenant=key.tenant, action="image.anonymized", detail={"bytes": received.file.size}
    )
    elapsed = time.perf_counter() - started
    return Response(
        body,
        media_type=mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream",
        headers={"Server-Timing": f"total;dur={elapsed * 1000:.1f}"},
    )
