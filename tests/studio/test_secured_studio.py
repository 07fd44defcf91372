"""The Studio on a secured server: it loads with a client certificate and is refused without one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from rookdb.security import initialize
from rookdb.security.issuing import load_keyed_certificate
from rookdb.server.runner import BackgroundServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    data_dir = tmp_path_factory.mktemp("secured-studio")
    initialize(data_dir)
    with BackgroundServer(data_dir) as running:
        yield running


def _admin_files(server: BackgroundServer, folder: Path) -> tuple[Path, Path]:
    """The admin certificate and key as the two PEM files Playwright's client-certificate option takes."""
    admin = load_keyed_certificate(server.security.config.files.admin)
    certificate, key = folder / "admin.crt", folder / "admin.key"
    certificate.write_bytes(admin.certificate_pem())
    key.write_bytes(admin.key_pem())
    return certificate, key


def test_studio_loads_with_a_client_certificate(browser: Browser, secured_server: BackgroundServer,
                                                tmp_path: Path) -> None:
    certificate, key = _admin_files(secured_server, tmp_path)
    context = browser.new_context(ignore_https_errors=True, client_certificates=[
        {"origin": secured_server.url, "certPath": str(certificate), "keyPath": str(key)}])
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: _collect(problems, message))
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.goto(f"{secured_server.url}/studio/")
        expect(page.locator("main h1").first).to_be_visible()
        expect(page.locator("#server-version")).not_to_be_empty()
        assert page.url == f"{secured_server.url}/studio/#/databases"
    finally:
        context.close()
    assert not problems, problems


def test_studio_is_refused_without_a_certificate(browser: Browser, secured_server: BackgroundServer) -> None:
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(f"{secured_server.url}/studio/")
        assert page.url.startswith(f"{secured_server.url}/studio/auth-error.html?err=")
        expect(page.locator("#auth-error-message")).to_contain_text(
            "This server requires client certificate for authentication, but none was provided by the client.")
        api = page.request.get(f"{secured_server.url}/databases")
        assert api.status == 403 and api.json()["Type"] == "InvalidAuth"
    finally:
        context.close()


def _collect(problems: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        problems.append(f"console error: {message.text}")
