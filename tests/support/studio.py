"""The Studio in a browser tab: Debian's Chromium driven by Playwright against a real rookdb server.

Every Studio test fails on a console error or an uncaught page error, and on any request that
leaves loopback (the Studio must work offline). Each step can be photographed into
``test-artifacts/studio/<test>/<step>.png``.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, ViewportSize

from rookdb.server.runner import BackgroundServer

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "studio"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
# Chromium reports every 4xx/5xx answer to fetch() as a console error; a test that provokes one on
# purpose declares it with Studio.expect_error_response.
_FAILED_RESOURCE = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")
_LOOPBACK = re.compile(r"^(?:https?|wss?)://127\.0\.0\.1[:/]")


class Studio:
    """One browser tab on the Studio: navigation helpers, step screenshots and console checks."""

    def __init__(self, page: Page, base_url: str, artifacts: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.artifacts = artifacts
        self.problems: list[str] = []
        self.outside_requests: list[str] = []
        self._expected_errors: set[tuple[str, int]] = set()
        self._steps = itertools.count(1)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = _FAILED_RESOURCE.match(message.text)
        if failed:
            path = urlsplit(message.location.get("url", "")).path
            if (path, int(failed.group(1))) in self._expected_errors:
                return
            self.problems.append(f"console error: {message.text} ({message.location.get('url')})")
            return
        self.problems.append(f"console error: {message.text}")

    def expect_error_response(self, path: str, status: int) -> None:
        """Accept the browser's console report of an error answer the test provokes on purpose."""
        self._expected_errors.add((path, status))

    def open(self, route: str = "") -> None:
        self.page.goto(f"{self.base_url}/studio/{route}")
        self.page.locator("main h1").first.wait_for()

    def shot(self, step: str) -> None:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.artifacts / f"{next(self._steps):02d}-{step}.png"))

    def check(self) -> None:
        problems = self.problems + [f"request left loopback: {url}" for url in self.outside_requests]
        assert not problems, "\n".join(problems)


def _artifacts_for(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)  # screenshots of an earlier run would mislead
    return folder


def open_studio(browser: Browser, server: BackgroundServer, request: pytest.FixtureRequest,
                viewport: ViewportSize) -> Iterator[Studio]:
    # Reduced motion turns the Studio's transitions off, so screenshots never catch one halfway.
    context = browser.new_context(viewport=viewport, reduced_motion="reduce")
    page = context.new_page()
    studio = Studio(page, server.url, _artifacts_for(request))

    def block_outside(route: Route, routed: Request) -> None:
        studio.outside_requests.append(routed.url)
        route.abort()

    # Everything that is not the server on loopback is refused, as it would be on an offline machine.
    context.route(lambda url: not _LOOPBACK.match(url) and not url.startswith(("data:", "blob:")), block_outside)
    try:
        yield studio
        studio.check()
    finally:
        context.close()


def load_sample_data(server: BackgroundServer, database: str) -> None:
    httpx.post(f"{server.url}/databases/{database}/studio/sample-data", timeout=60).raise_for_status()
