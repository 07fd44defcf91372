"""The Studio's shell: served by the server, offline, navigable by mouse, keyboard and on a phone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from rookdb.server.runner import BackgroundServer
from tests.support.studio import Studio, open_studio

pytestmark = pytest.mark.browser

AI_HUB = ["AI Connection Strings", "AI Tasks", "Stats", "Errors"]


@pytest.fixture
def phone(browser: Browser, server: BackgroundServer, request: pytest.FixtureRequest) -> Iterator[Studio]:
    yield from open_studio(browser, server, request, {"width": 420, "height": 800})


def test_root_and_studio_path_redirect_to_the_studio(server: BackgroundServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        for path in ("/", "/studio"):
            response = client.get(path)
            assert response.status_code == 307
            assert response.headers["location"] == "/studio/"
        page = client.get("/studio/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        module = client.get("/studio/app.js")
        assert module.headers["content-type"].startswith("text/javascript")


def test_navigation_follows_the_database(studio: Studio, northwind: object) -> None:
    page = studio.page
    page.goto(f"{studio.base_url}/")
    expect(page).to_have_url(f"{studio.base_url}/studio/#/databases")
    expect(page.locator("main h1")).to_have_text("Databases")
    studio.shot("databases")

    page.get_by_role("link", name="Northwind", exact=True).click()
    expect(page.locator("main h1")).to_have_text("All documents")
    nav = page.get_by_role("navigation", name="Main")
    for label in ["Databases", "Documents", "Query", *AI_HUB]:
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Documents", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Database", exact=True)).to_have_value("Northwind")
    studio.shot("documents")

    # AI Tasks, Stats and Errors are visited by the AI Hub flow, which also gives them data.
    for label, heading in [("Query", "Query"), ("AI Connection Strings", "AI Connection Strings")]:
        nav.get_by_role("link", name=label, exact=True).click()
        expect(page.locator("main h1")).to_have_text(heading)
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "page")
        studio.shot(label.lower().replace(" ", "-"))


def test_database_switcher_keeps_the_page(studio: Studio, northwind: object, new_database: str) -> None:
    page = studio.page
    studio.open("#/db/Northwind/query")
    page.get_by_label("Database", exact=True).select_option(new_database)
    expect(page).to_have_url(f"{studio.base_url}/studio/#/db/{new_database}/query")
    expect(page.get_by_role("navigation", name="Main").get_by_text(new_database, exact=True)).to_be_visible()


def test_unknown_page_says_so(studio: Studio) -> None:
    studio.open("#/no/such/page")
    expect(studio.page.locator("main h1")).to_have_text("Page not found")
    studio.page.get_by_role("link", name="Go to databases").click()
    expect(studio.page.locator("main h1")).to_have_text("Databases")


def test_narrow_window_collapses_the_navigation(phone: Studio, northwind: object) -> None:
    page = phone.page
    phone.open("#/db/Northwind/documents?collection=Products")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    phone.shot("collapsed")

    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    phone.shot("menu-open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()

    menu.click()
    nav.get_by_role("link", name="Query", exact=True).click()
    expect(page.locator("main h1")).to_have_text("Query")
    expect(nav).to_be_hidden()
    # The collection list becomes a drop-down; nothing is wider than the window.
    phone.open("#/db/Northwind/documents")
    page.get_by_label("Collection", exact=True).select_option("Products")
    expect(page.locator("main h1")).to_have_text("Products")
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    phone.shot("documents")


def test_keyboard_opens_submits_and_cancels_dialogs(studio: Studio) -> None:
    page = studio.page
    studio.open("#/databases")
    page.get_by_role("button", name="New database").first.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New database")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="New database").first).to_be_focused()

    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.type("keyboard-made")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("row").filter(has_text="keyboard-made")).to_be_visible()
    httpx.request("DELETE", f"{studio.base_url}/admin/databases", json={"DatabaseNames": ["keyboard-made"]})
