"""Build the FastAPI app: routes, console, security headers, and the worker pool's lifetime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from veil.service.auth_guard import AuthShield, FailedAuthGuard
from veil.service.context import AppContext, context_of, require
from veil.service.image_slots import ImageSlots
from veil.service.keys import ApiKeyStore, KeyRecord, Scope
from veil.service.pool import WorkerPool
from veil.service.ratelimit import RateLimiter
from veil.service.routes_images import router as images_router
from veil.service.routes_jobs import router as jobs_router
from veil.service.schemas import AuditEntryOut
from veil.service.settings import ServiceSettings
from veil.service.state import ServiceState
from veil.service.webhook_queue import WebhookDispatcher
from veil.service.worker import load_factory

__all__ = ["create_app"]

_CONSOLE_FILES = {"console.js": "text/javascript", "console.css": "text/css"}
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


# How often counted repeats of failed authentications are written out (each window's are, once it ends).
_AUTH_FLUSH_S = 10.0


async def _flush_every(guard: FailedAuthGuard, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await run_in_threadpool(guard.flush, due_only=True)


def _guard_of(app: FastAPI) -> tuple[FailedAuthGuard, ApiKeyStore] | None:
    context: AppContext | None = getattr(app.state, "veil", None)
    return None if context is None else (context.auth_guard, context.state.keys)


def _console_file(name: str) -> str:
    return resources.files("veil.service").joinpath("console", name).read_text(encoding="utf-8")


def create_app(settings: ServiceSettings, *, log_level: int = logging.WARNING) -> FastAPI:
    """Return the app for ``settings``; its lifespan opens the data directory and runs the workers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServiceState.open(settings)
        guard = FailedAuthGuard(state.audit)
        factory = load_factory(settings.pipeline_factory)
        images = ImageSlots(
            factory, slots=settings.image_slots, queue_per_tenant=settings.image_queue_per_tenant
        )
        app.state.veil = AppContext(
            state=state,
            limiter=RateLimiter(settings.rate_per_minute, settings.rate_burst),
            pipeline_factory=factory,
            auth_guard=guard,
            images=images,
        )
        pool = WorkerPool(state, log_level)
        pool.start()
        app.state.pool = pool
        webhooks = WebhookDispatcher(
            state.webhooks, state.keys.webhook_secret, allow_private=settings.allow_private_webhooks
        )
        webhooks.start()
        app.state.webhooks = webhooks
        flusher = asyncio.create_task(_flush_every(guard, _AUTH_FLUSH_S))
        try:
            yield
        finally:
            flusher.cancel()
            pool.stop()
            webhooks.stop()
            images.close()
            guard.flush()
            state.close()

    app = FastAPI(
        title="Veil",
        version="1",
        summary="Anonymize images and video: object masking, object removal and privacy audits as a service.",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    # Outermost, so a flood past its budget is answered before any other middleware runs.
    app.add_middleware(AuthShield, guard_of=_guard_of)

    @app.get("/", include_in_schema=False)
    def console() -> HTMLResponse:
        return HTMLResponse(_console_file("index.html"), headers={"Content-Security-Policy": _CSP})

    @app.get("/console/{name}", include_in_schema=False)
    def console_asset(name: str) -> Response:
        if name not in _CONSOLE_FILES:
            return Response(status_code=404)
        return Response(_console_file(name), media_type=_CONSOLE_FILES[name])

    @app.get("/healthz", tags=["service"], summary="Liveness: the app answers and the store opens")
    def health(context: Annotated[AppContext, Depends(context_of)]) -> dict[str, object]:
        # Unauthenticated: says nothing about any tenant's jobs.
        context.state.db.conn.execute("SELECT 1 FROM jobs LIMIT 1").fetchall()
        return {"status": "ok"}

    @app.get(
        "/v1/audit", tags=["service"], response_model=list[AuditEntryOut], summary="This tenant's audit log"
    )
    def audit_log(
        key: Annotated[KeyRecord, Depends(require(Scope.ADMIN))],
        context: Annotated[AppContext, Depends(context_of)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditEntryOut]:
        entries = context.state.audit.entries(key.tenant, limit)
        return [
            AuditEntryOut(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target=e.target,
                outcome=e.outcome,
                detail=e.detail,
                hash=e.hash,
            )
            for e in entries
        ]

    app.include_router(jobs_router)
    app.include_router(images_router)
    return app
