"""Receive an upload into scratch space and check it, turning every refusal into an HTTP error."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from veil.service.context import AppContext
from veil.service.media_check import MediaFacts, RejectedMediaError, check_media
from veil.service.multipart_form import FormError, ParsedForm, UploadedFile, read_form

__all__ = ["Received", "receive_upload"]


@dataclass(frozen=True)
class Received:
    """A checked upload in scratch space (the caller removes ``file.path``) and the other form fields."""

    fields: dict[str, str]
    file: UploadedFile
    facts: MediaFacts


async def receive_upload(request: Request, context: AppContext, max_bytes: int) -> Received:
    """Stream the request's form to disk and check the file; nothing is left behind on refusal."""
    limits = context.state.settings.limits
    dest: Path = context.state.blobs.work_dir / f"incoming-{secrets.token_hex(12)}"
    try:
        form: ParsedForm = await read_form(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            dest,
            max_file_bytes=max_bytes,
            max_field_bytes=limits.max_form_field_bytes,
        )
    except FormError as exc:
        raise HTTPException(exc.status, exc.message) from None
    try:
        if form.file is None:
            raise HTTPException(422, "the form has no 'file' field with the media to process")
        try:
            facts = await run_in_threadpool(check_media, form.file.path, limits)
        except RejectedMediaError as exc:
            raise HTTPException(exc.status, exc.message) from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return Received(form.fields, form.file, facts)
