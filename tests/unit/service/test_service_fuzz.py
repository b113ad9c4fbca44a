"""Property-based fuzz of the published OpenAPI schema (schemathesis) on a loopback server: no 5xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from veil.service import Limits, ServiceSettings, create_app
from veil.service.context import AppContext
from veil.service.keys import Scope


@pytest.fixture(scope="module")
def live_service(
    tmp_path_factory: pytest.TempPathFactory, serve_app: Callable[..., AbstractContextManager[str]]
) -> Iterator[tuple[str, str]]:
    """Serve the app on loopback (no workers: fuzzed uploads are never processed); yield (url, key)."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    config = ServiceSettings(
        data_dir=data_dir,
        workers=0,
        pipeline_factory="veil.service.fakes:fake_pipeline",
        rate_per_minute=1_000_000,
        rate_burst=100_000,
        limits=Limits(max_upload_bytes=200_000, max_image_bytes=200_000),
    )
    app = create_app(config)
    with serve_app(app, lifespan="on") as url:
        context: AppContext = app.state.veil
        created = context.state.keys.create("fuzz", frozenset(Scope), "fuzz")
        yield url, created.token


@pytest.fixture(scope="module")
def api_schema(live_service: tuple[str, str]) -> schemathesis.BaseSchema:
    url, _ = live_service
    return schemathesis.openapi.from_url(f"{url}/openapi.json")


def test_no_input_makes_the_server_fail(
    api_schema: schemathesis.BaseSchema, live_service: tuple[str, str]
) -> None:
    url, token = live_service
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /v1/jobs",
        "GET /v1/jobs/{job_id}",
        "POST /v1/images:anonymize",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
            )

        fuzz()
