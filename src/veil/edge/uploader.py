"""Upload finished segments to a Veil server with the device's key, retrying with backoff."""

from __future__ import annotations

import logging
import ssl
import time
from pathlib import Path

import httpx2

__all__ = ["SegmentUploader", "UploadError"]

_log = logging.getLogger(__name__)
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class UploadError(Exception):
    """A segment could not be delivered after every retry, or the server refused it for good."""


class SegmentUploader:
    """POST each segment to ``/v1/jobs`` as an ``object-mask`` job, idempotently per stream and segment."""

    def __init__(
        self,
        server: str,
        key: str,
        stream_id: str,
        *,
        ca_cert: Path | None = None,
        attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 60.0,
        fields: dict[str, str] | None = None,
    ) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_cert)) if ca_cert else True
        self._client = httpx2.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            verify=verify,
            timeout=timeout_s,
        )
        self._stream_id = stream_id
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._fields = {"operation": "object-mask", **(fields or {})}

    def upload(self, segment: Path) -> str:
        """Upload ``segment`` and return the job id; a retried upload never makes a second job."""
        headers = {"Idempotency-Key": f"{self._stream_id}-{segment.stem}"}
        last = ""
        for attempt in range(self._attempts):
            try:
                with segment.open("rb") as handle:
                    response = self._client.post(
                        "/v1/jobs",
                        headers=headers,
                        data=self._fields,
                        files={"file": (segment.name, handle, "video/mp4")},
                    )
                if response.status_code in {200, 201}:
                    job_id: str = response.json()["id"]
                    return job_id
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in _RETRY_STATUS:
                    raise UploadError(f"{segment.name}: the server refused it ({last})")
            except httpx2.HTTPError as exc:
                last = str(exc) or type(exc).__name__
            _log.warning("%s: upload attempt %d failed: %s", segment.name, attempt + 1, last)
            if attempt + 1 < self._attempts:
                time.sleep(self._backoff_s * 2**attempt)
        raise UploadError(f"{segment.name}: not delivered after {self._attempts} attempts ({last})")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
