"""Query page: RQL with parameters, results as a table with totals, and errors with their position."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.studio import Studio

pytestmark = pytest.mark.browser

QUERIES = "/databases/Northwind/queries"


def test_run_a_query_with_parameters(studio: Studio, northwind: object) -> None:
    page = studio.page
    studio.open("#/db/Northwind/query")
    expect(page.get_by_text("Run a query to see its results")).to_be_visible()
    page.get_by_label("RQL").fill("from Products where PricePerUnit > $min order by PricePerUnit as double desc")
    page.get_by_label("Parameters").fill('{"min": 50}')
    page.get_by_label("RQL").press("Control+Enter")

    table = page.locator("table.results-table")
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(page.locator(".total-results")).to_have_text("7")
    expect(page.locator(".query-stats")).to_contain_text(re.compile(r"\d+ ms"))
    expect(page.locator(".index-name")).to_have_text(re.compile(r"^Auto/Products/By.*PricePerUnit"))
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:2] == ["Id", "Name"], headers
    expect(table.locator("tbody tr").first).to_contain_text("Côte de Blaye")
    studio.shot("results")

    table.get_by_role("link").first.click()
    expect(page.locator("main h1")).to_have_text("products/38-A")
    page.go_back()
    # The last query is kept per database.
    expect(page.get_by_label("RQL")).to_have_value(re.compile(r"PricePerUnit > \$min"))


def test_query_error_shows_the_message_and_where(studio: Studio, northwind: object) -> None:
    page = studio.page
    studio.expect_error_response(QUERIES, 400)
    studio.open("#/db/Northwind/query")
    rql = page.get_by_label("RQL")
    rql.fill("from Products\nwhere PricePerUnit >> 20")
    page.get_by_role("button", name="Run").click()
    error = page.get_by_role("alert").filter(has_text="Query failed")
    expect(error).to_contain_text("InvalidQueryException")
    expect(error).to_contain_text("line 2")
    # The caret is put where the server says the problem is.
    position = page.evaluate("document.getElementById('rql').selectionStart")
    assert rql.input_value()[position] == ">"
    expect(rql).to_be_focused()
    studio.shot("error")


def test_parameters_must_be_a_json_object(studio: Studio, northwind: object) -> None:
    page = studio.page
    studio.open("#/db/Northwind/query")
    page.get_by_label("RQL").fill("from Products")
    page.get_by_label("Parameters").fill("[1, 2]")
    page.get_by_label("Parameters").press("Control+Enter")
    expect(page.get_by_text("Parameters must be a JSON object.")).to_be_visible()
    page.get_by_label("Parameters").fill("{oops")
    page.get_by_label("Parameters").press("Control+Enter")
    expect(page.locator(".field-error").filter(has_text="Invalid JSON")).to_be_visible()
    expect(page.locator("table.results-table")).to_have_count(0)
    studio.shot("invalid-parameters")
