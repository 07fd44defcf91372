"""Browser fixtures: Debian's Chromium driven by Playwright against a real rookdb server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from rookdb.server.runner import BackgroundServer
from tests.support.studio import CHROMIUM, DESKTOP, LAUNCH_ARGS, Studio, open_studio

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/browser (it installs Debian's chromium)"
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def studio(browser: Browser, server: BackgroundServer, request: pytest.FixtureRequest) -> Iterator[Studio]:
    """The Studio in a 1280x800 tab; the test fails on console errors or outside requests."""
    yield from open_studio(browser, server, request, DESKTOP)


@pytest.fixture
def new_database(server: BackgroundServer) -> Iterator[str]:
    """A fresh, empty database for a test that changes data; deleted afterwards."""
    name = f"studio{next(_database_numbers)}"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.put("/admin/databases", params={"name": name}, json={"DatabaseName": name}).raise_for_status()
        yield name
        client.request("DELETE", "/admin/databases", json={"DatabaseNames": [name]})
