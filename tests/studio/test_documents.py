"""Documents: collections with counts, paging, the JSON editor (validation, save, create, delete), and
the link from a document to its embeddings document."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from rookdb.server.runner import BackgroundServer
from tests.support.studio import Studio

pytestmark = pytest.mark.browser

EN_DASH = "\u2013"  # the pager writes ranges with an en dash


def containing(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


def test_collections_and_paging(studio: Studio, northwind: object) -> None:
    page = studio.page
    studio.open("#/db/Northwind/documents")
    collections = page.get_by_role("navigation", name="Collections")
    for name, count in [("Categories", "8"), ("Orders", "830"), ("Products", "77")]:
        expect(collections.get_by_role("link", name=f"{name} {count}")).to_be_visible()
    studio.shot("all-documents")

    collections.get_by_role("link", name="Products 77").click()
    expect(page.locator("main h1")).to_have_text("Products")
    table = page.locator("table.documents-table")
    expect(table.locator("tbody tr")).to_have_count(25)
    expect(table.locator("thead")).to_contain_text("Name")
    expect(page.locator(".pager-range")).to_have_text(f"1{EN_DASH}25 of 77")
    studio.shot("products-page-1")

    page.get_by_role("link", name="Next").click()
    expect(page.locator(".pager-range")).to_have_text(f"26{EN_DASH}50 of 77")
    page.get_by_role("link", name="Next").click()
    page.get_by_role("link", name="Next").click()
    expect(page.locator(".pager-range")).to_have_text(f"76{EN_DASH}77 of 77")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    studio.shot("products-last-page")

    first = table.get_by_role("link").first
    first_id = first.inner_text()
    first.click()
    expect(page.locator("main h1")).to_have_text(first_id)
    expect(page.get_by_label("Document JSON")).to_have_value(containing(f'"@id": "{first_id}"'))

    studio.open("#/db/Northwind/document?id=products/1-A")
    editor = page.get_by_label("Document JSON")
    expect(editor).to_have_value(containing('"Name": "Chai"'))
    expect(editor).to_have_value(containing('"@collection": "Products"'))
    expect(page.locator(".doc-side")).to_contain_text("Change vector")
    expect(page.locator(".doc-side")).to_contain_text("No embeddings document for this document.")
    studio.shot("document")


def test_create_validate_edit_and_delete_a_document(studio: Studio, new_database: str) -> None:
    page = studio.page
    studio.open(f"#/db/{new_database}/documents")
    expect(page.get_by_text("This database has no documents")).to_be_visible()
    studio.shot("empty")

    page.get_by_role("link", name="New document").first.click()
    expect(page.locator("main h1")).to_have_text("New document")
    page.get_by_label("Document ID").fill("notes/1")
    editor = page.get_by_label("Document JSON")
    editor.fill('{"Title": "First", "@metadata": {"@collection": "Notes"},}')
    expect(page.get_by_role("status").filter(has_text="Invalid JSON")).to_be_visible()
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Create")).to_be_disabled()
    studio.shot("invalid-json")

    editor.fill('{"Title": "First", "Tags": ["a", "b"], "@metadata": {"@collection": "Notes"}}')
    expect(page.get_by_text("Valid JSON")).to_be_visible()
    page.get_by_role("button", name="Create").click()
    expect(page.locator("main h1")).to_have_text("notes/1")
    expect(page.get_by_role("status").filter(has_text="Document 'notes/1' created.")).to_be_visible()
    studio.shot("created")

    editor.fill(editor.input_value().replace('"First"', '"Second"'))
    editor.press("Control+s")
    expect(page.get_by_role("status").filter(has_text="Document 'notes/1' saved.")).to_be_visible()
    stored = httpx.get(f"{studio.base_url}/databases/{new_database}/docs", params={"id": "notes/1"}).json()
    assert stored["Results"][0]["Title"] == "Second"
    page.get_by_role("button", name="Format").click()
    studio.shot("saved")

    # A server-completed id: "notes/" becomes notes/<etag>-A.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Notes").click()
    page.get_by_role("link", name="New document").first.click()
    expect(page.get_by_label("Document ID")).to_have_value("notes/")
    page.get_by_label("Document JSON").fill('{"Title": "Third", "@metadata": {"@collection": "Notes"}}')
    page.get_by_role("button", name="Create").click()
    expect(page.locator("main h1")).to_have_text(containing("notes/0"))

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete document").click()
    expect(page.locator("main h1")).to_have_text("Notes")
    expect(page.locator("table.documents-table tbody tr")).to_have_count(1)
    studio.shot("after-delete")


def test_document_links_to_its_embeddings(studio: Studio, server: BackgroundServer, new_database: str) -> None:
    base = f"{server.url}/databases/{new_database}/docs"
    httpx.put(base, params={"id": "products/1-A"},
              json={"Name": "Chai", "@metadata": {"@collection": "Products"}}).raise_for_status()
    # The layout an embeddings task writes: embeddings/<source id> in @embeddings/<Collection>.
    httpx.put(base, params={"id": "embeddings/products/1-A"},
              json={"products-name": {"@quantization": "Single", "Name": ["aGFzaA=="]},
                    "@metadata": {"@collection": "@embeddings/Products"}}).raise_for_status()
    page = studio.page
    studio.open(f"#/db/{new_database}/document?id=products/1-A")
    embeddings = page.locator(".doc-side .card").filter(has_text="Embeddings")
    expect(embeddings).to_contain_text("@embeddings/Products")
    expect(embeddings).to_contain_text("products-name")
    studio.shot("document-with-embeddings")

    embeddings.get_by_role("link", name="embeddings/products/1-A").click()
    expect(page.locator("main h1")).to_have_text("embeddings/products/1-A")
    expect(page.locator(".doc-side")).to_contain_text("This document holds the embeddings of products/1-A.")
    studio.shot("embeddings-document")
    page.locator(".doc-side").get_by_role("link", name="products/1-A").click()
    expect(page.locator("main h1")).to_have_text("products/1-A")

    studio.open(f"#/db/{new_database}/documents")
    collections = page.get_by_role("navigation", name="Collections")
    expect(collections).to_contain_text("System")
    expect(collections.get_by_role("link", name="@embeddings/Products 1")).to_be_visible()


def test_missing_document_says_so(studio: Studio, new_database: str) -> None:
    studio.open(f"#/db/{new_database}/document?id=nothing/here")
    expect(studio.page.get_by_text("Document not found")).to_be_visible()
