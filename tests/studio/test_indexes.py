"""Indexes page: the list with state, staleness, entries and errors; an index's statistics, errors and
definition, edited with compilation errors shown on the map they are about; new, query, reset, delete."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from rookdb.server.runner import BackgroundServer
from tests.support.studio import Studio
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser

INDEXED_MS = 30_000
"""How long indexing may take on a loaded machine before the page must show it (the page refreshes)."""
BY_COMPANY = "from o in docs.Orders select new { o.Company, o.Freight }"
THROWS = "map('Orders', o => { if (o.Freight > 100) throw new Error('too heavy'); return { Freight: o.Freight }; })"


def seed(server: BackgroundServer, db: str) -> None:
    with httpx.Client(base_url=f"{server.url}/databases/{db}", timeout=30) as client:
        for number, (company, freight) in enumerate([("companies/1", 10.5), ("companies/2", 250.0),
                                                     ("companies/1", 4.0)], start=1):
            client.put("/docs", params={"id": f"orders/{number}"}, json={
                "Company": company, "Freight": freight, "@metadata": {"@collection": "Orders"}}).raise_for_status()
        client.put("/admin/indexes", json={"Indexes": [
            {"Name": "Orders/ByCompany", "Maps": [BY_COMPANY]},
            {"Name": "Orders/Throws", "Maps": [THROWS]},
        ]}).raise_for_status()


def names(server: BackgroundServer, db: str) -> list[str]:
    listed = httpx.get(f"{server.url}/databases/{db}/indexes", params={"namesOnly": "true"}, timeout=30)
    return sorted(listed.json()["Results"])


def test_list_edit_query_reset_and_delete_indexes(studio: Studio, server: BackgroundServer, new_database: str) -> None:
    page = studio.page
    seed(server, new_database)
    studio.open(f"#/db/{new_database}/indexes")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Indexes", exact=True)).to_have_attribute("aria-current", "page")
    by_company = page.locator("tr[data-index='Orders/ByCompany']")
    throws = page.locator("tr[data-index='Orders/Throws']")
    expect(by_company.locator(".entries-cell")).to_have_text("3", timeout=INDEXED_MS)
    expect(by_company.locator(".freshness-cell")).to_have_text("Up to date", timeout=INDEXED_MS)
    expect(by_company.locator(".state-cell")).to_have_text("Normal")
    expect(throws.locator(".entries-cell")).to_have_text("2", timeout=INDEXED_MS)
    expect(throws.locator(".errors-cell")).to_have_text("1")
    studio.shot("list")

    # The errors count leads to the index's errors; its statistics and definition are on the same page.
    throws.locator(".errors-cell a").click()
    expect(page.locator("main h1")).to_have_text("Orders/Throws")
    errors = page.locator("table.index-errors-table tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("orders/2")
    expect(errors.first).to_contain_text("too heavy")
    expect(page.locator("[data-stat='Map errors'] .stat-value")).to_have_text("1")
    expect(page.get_by_label("Map 1")).to_have_value(THROWS)
    studio.shot("index-with-errors")
    page.get_by_role("button", name="Delete errors").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete errors").click()
    expect(page.get_by_text("Every document was indexed.")).to_be_visible()

    # A map that does not compile is refused, and the error is shown on the map, caret on the problem.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Indexes").click()
    by_company.get_by_role("link", name="Orders/ByCompany", exact=True).click()
    expect(page.locator("[data-stat=Entries] .stat-value")).to_have_text("3")
    studio.expect_error_response(f"/databases/{new_database}/admin/indexes", 500)
    map_editor = page.get_by_label("Map 1")
    map_editor.fill("from o in docs.Orders\nselect new { o.Company, Total = o.Freight * }")
    page.get_by_role("button", name="Save index").click()
    problem = page.locator(".field[data-field='Maps.0'] .field-error")
    expect(problem).to_contain_text("Failed to compile index Orders/ByCompany")
    expect(problem).to_contain_text("line 2")
    expect(map_editor).to_be_focused()
    caret = page.evaluate("document.activeElement.selectionStart")
    assert map_editor.input_value()[caret] == "}"
    studio.shot("compilation-error")

    # Fixed, it is saved and built side by side; its new field is then queried from the Query page.
    map_editor.fill("from o in docs.Orders\nselect new { o.Company, Total = o.Freight * 2 }")
    page.get_by_role("button", name="Save index").click()
    expect(page.get_by_text("Index 'Orders/ByCompany' saved.")).to_be_visible()
    wait_for(lambda: names(server, new_database) == ["Orders/ByCompany", "Orders/Throws"], what="the swap")
    page.locator("main .page-actions").get_by_role("link", name="Query").click()
    expect(page.get_by_label("RQL")).to_have_value("from index 'Orders/ByCompany'")
    expect(page.locator(".index-name")).to_have_text("Orders/ByCompany")
    page.get_by_label("RQL").fill("from index 'Orders/ByCompany' where Total > 20 order by Total")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("table.results-table tbody tr")).to_have_count(2, timeout=INDEXED_MS)
    expect(page.locator("table.results-table tbody tr").first).to_contain_text("orders/1")
    studio.shot("query")

    # A new JavaScript index from the Studio.
    studio.open(f"#/db/{new_database}/indexes")
    page.get_by_role("link", name="New index").first.click()
    expect(page.locator("main h1")).to_have_text("New index")
    page.get_by_label("Name").fill("Orders/Js")
    page.get_by_label("Map 1").fill("map('Orders', o => ({ Company: o.Company }))")
    page.get_by_role("button", name="Add map").click()
    page.get_by_label("Map 2").fill("map('Companies', c => ({ Company: id(c) }))")
    page.get_by_role("button", name="Remove map").last.click()
    expect(page.get_by_label("Map 2")).to_have_count(0)
    page.get_by_role("button", name="Save index").click()
    expect(page.locator("main h1")).to_have_text("Orders/Js")
    expect(page.locator("[data-stat=Entries] .stat-value")).to_have_text("3", timeout=INDEXED_MS)
    expect(page.locator(".page-subtitle")).to_have_text("JavaScriptMap")

    # Reset and delete, each confirmed.
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("dialog").get_by_role("button", name="Reset index").click()
    expect(page.get_by_text("Index 'Orders/Js' is being rebuilt.")).to_be_visible(timeout=INDEXED_MS)
    expect(page.locator("[data-stat=Entries] .stat-value")).to_have_text("3", timeout=INDEXED_MS)
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete index").click()
    expect(page.locator("main h1")).to_have_text("Indexes")
    expect(page.locator("tr[data-index='Orders/Js']")).to_have_count(0)
    expect(page.locator("table.indexes-table tbody tr")).to_have_count(2)
    studio.shot("after-delete")


def test_an_index_that_does_not_exist(studio: Studio, new_database: str) -> None:
    studio.expect_error_response(f"/databases/{new_database}/indexes", 404)
    studio.open(f"#/db/{new_database}/indexes/edit?name=Nope")
    expect(studio.page.get_by_text("The database has no index named 'Nope'.")).to_be_visible()
    studio.open(f"#/db/{new_database}/indexes")
    expect(studio.page.get_by_text("No indexes yet")).to_be_visible()
    expect(studio.page.locator("main")).to_contain_text(re.compile("auto-indexes"))
