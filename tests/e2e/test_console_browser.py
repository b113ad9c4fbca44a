"""The web console end to end in headless Debian Chromium (Playwright): upload, progress, before/after."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import av
import pytest
from playwright.sync_api import Page, sync_playwright

from veil.service import Limits, ServiceSettings, create_app
from veil.service.context import AppContext
from veil.service.keys import Scope

CHROMIUM = Path("/usr/bin/chromium")
# The flags the machine's notes give for headless Chromium on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def console_service(
    tmp_path_factory: pytest.TempPathFactory, serve_app: Callable[..., AbstractContextManager[str]]
) -> Iterator[tuple[str, str]]:
    """Serve the app with one worker process on loopback; yield (url, key)."""
    settings = ServiceSettings(
        data_dir=tmp_path_factory.mktemp("console") / "data",
        workers=1,
        pipeline_factory="veil.service.fakes:slow_fake_pipeline",
        limits=Limits(max_upload_bytes=20_000_000),
    )
    app = create_app(settings)
    with serve_app(app) as url:
        context: AppContext = app.state.veil
        token = context.state.keys.create("console", frozenset({Scope.SUBMIT, Scope.READ}), "demo").token
        yield url, token


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    assert CHROMIUM.exists(), "run .ci/install-browser: the console tests need Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        # bypass_csp: Playwright evaluates its wait predicates as strings, which the console CSP forbids.
        context = browser.new_context(
            accept_downloads=True, bypass_csp=True, viewport={"width": 1200, "height": 900}
        )
        yield context.new_page()
        context.close()
        browser.close()


def test_upload_progress_before_after_and_download(
    page: Page, console_service: tuple[str, str], make_video, tmp_path: Path
) -> None:
    url, token = console_service
    clip = make_video("street.mp4", width=160, height=120, frames=24)
    page.goto(url)
    page.fill("#api-key", "veil_wrong_key")
    page.click("#key-form button")
    page.wait_for_function("document.getElementById('key-status').textContent.startsWith('refused')")
    page.fill("#api-key", token)
    page.click("#key-form button")
    page.wait_for_function("document.getElementById('key-status').textContent === 'key accepted'")
    page.set_input_files("#file", str(clip))
    page.select_option("#method", "mask")
    page.click("#submit")
    # Progress: the job is seen running part-way before it succeeds.
    page.wait_for_function(
        "(() => { const p = document.getElementById('job-progress').value; return p > 0 && p < 1; })()",
        timeout=30_000,
    )
    page.wait_for_function("document.getElementById('job-state').textContent === 'succeeded'", timeout=60_000)
    assert page.eval_on_selector("#job-progress", "e => e.value") == 1
    # Before (the local file) and after (the fetched result) are both shown, as videos from blob URLs.
    before = page.get_attribute("#before video", "src")
    after = page.get_attribute("#after video", "src")
    assert before and after and before.startswith("blob:") and after.startswith("blob:") and before != after
    page.wait_for_function("document.querySelector('#after video').readyState >= 1", timeout=10_000)
    assert page.eval_on_selector("#after video", "v => [v.videoWidth, v.videoHeight]") == [160, 120]
    assert page.locator("#detections tbody tr").first.inner_text().startswith("face")
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "street.anon.mp4"
    saved = tmp_path / "downloaded.mp4"
    download.save_as(saved)
    with av.open(io.BytesIO(saved.read_bytes())) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24
    assert page.locator("#job-rows tr").count() == 1
