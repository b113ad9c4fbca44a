"""Per-app context and the request dependencies that authenticate, authorize and rate-limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from veil.api import Pipeline, PipelineConfig
from veil.service.audit_log import bounded
from veil.service.auth_guard import FailedAuthGuard
from veil.service.image_slots import ImageSlots
from veil.service.keys import AuthBusyError, KeyRecord, Scope, key_id_of
from veil.service.ratelimit import RateLimiter
from veil.service.state import ServiceState

__all__ = ["AppContext", "context_of", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API key made by `veil keys create`.")


@dataclass
class AppContext:
    """What the routes of one app share: the data directory's stores, the limiters, the image slots."""

    state: ServiceState
    limiter: RateLimiter
    pipeline_factory: Callable[[PipelineConfig], Pipeline]
    auth_guard: FailedAuthGuard
    images: ImageSlots


def context_of(request: Request) -> AppContext:
    """Return the app's context."""
    context: AppContext = request.app.state.veil
    return context


def _authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> KeyRecord:
    context = context_of(request)
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "an API key is required (Authorization: Bearer KEY)", challenge
        )
    token = credentials.credentials
    try:
        record = context.state.keys.verify(token)
    except AuthBusyError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "too many key checks at once; retry", {"Retry-After": "1"}
        ) from None
    if record is None:
        # Counted against the client before anything is logged: a flood is answered, not recorded.
        client = request.client.host if request.client else None
        wait_s = context.auth_guard.failed(client or "-", key_id_of(token), request.url.path, "bad key")
        if wait_s > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many failed authentications; retry in {wait_s:.0f} s",
                {"Retry-After": str(max(1, round(wait_s)))},
            )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the API key is unknown or revoked", challenge)
    wait_s = context.limiter.take(record.key_id, record.rate_per_minute)
    if wait_s > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of this key reached; retry in {wait_s:.1f} s",
            {"Retry-After": str(max(1, round(wait_s)))},
        )
    return record


def require(scope: Scope) -> Callable[..., KeyRecord]:
    """Return a dependency that admits keys holding ``scope`` (403 otherwise)."""

    def dependency(request: Request, key: Annotated[KeyRecord, Depends(_authenticate)]) -> KeyRecord:
        if not key.allows(scope):
            context_of(request).state.audit.record(
                actor=key.key_id,
                tenant=key.tenant,
                action="authorize",
                target=bounded(request.url.path),
                outcome="denied",
                detail={"needs": scope.value},
            )
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this key lacks the {scope.value!r} scope")
        return key

    return dependency
