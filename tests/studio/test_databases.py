"""Databases page: list with document counts, create (with validation), sample data, delete."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.studio import Studio

pytestmark = pytest.mark.browser

NORTHWIND_DOCUMENTS = "1,051"


def test_create_fill_with_sample_data_and_delete_a_database(studio: Studio) -> None:
    page = studio.page
    name = "studio-databases-page"
    studio.open("#/databases")
    studio.shot("list")

    page.get_by_role("button", name="New database").first.click()
    dialog = page.get_by_role("dialog", name="New database")
    dialog.get_by_label("Name").fill("bad name!")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_text("Use letters, digits")).to_be_visible()
    expect(dialog.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    studio.shot("invalid-name")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text=f"Database '{name}' created.")).to_be_visible()

    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    expect(row.get_by_role("cell").nth(1)).to_have_text("0")
    studio.shot("created")

    row.get_by_role("button", name="Create sample data").click()
    expect(row.get_by_role("cell").nth(1)).to_have_text(NORTHWIND_DOCUMENTS)
    expect(row.get_by_role("button", name="Create sample data")).to_have_count(0)
    studio.shot("sample-data")

    # Creating it again is refused by the server (409) and said next to the name.
    studio.expect_error_response("/admin/databases", 409)
    page.get_by_role("button", name="New database").first.click()
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_text(f"A database named '{name}' already exists.")).to_be_visible()
    page.keyboard.press("Escape")

    row.get_by_role("button", name=f"Delete {name}").click()
    confirm = page.get_by_role("dialog", name=f"Delete database '{name}'?")
    expect(confirm).to_contain_text("1,051 documents")
    studio.shot("confirm-delete")
    confirm.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name=f"Delete {name}").click()
    confirm.get_by_role("button", name="Delete database").click()
    expect(row).to_have_count(0)
    names = httpx.get(f"{studio.base_url}/databases", params={"namesOnly": "true"}).json()["Databases"]
    assert name not in names
    studio.shot("deleted")


def test_database_names_link_to_their_documents(studio: Studio, northwind: object) -> None:
    studio.open("#/databases")
    row = studio.page.get_by_role("row").filter(has=studio.page.get_by_role("link", name="Northwind", exact=True))
    expect(row.get_by_role("cell").nth(1)).to_have_text(NORTHWIND_DOCUMENTS)
    row.get_by_role("link", name="Northwind", exact=True).click()
    expect(studio.page.locator("main h1")).to_have_text("All documents")
    expect(studio.page.get_by_role("navigation", name="Collections")).to_contain_text("Products77")
