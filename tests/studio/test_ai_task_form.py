"""AI Hub → AI Tasks → Add: validation (in the browser and from the server, next to the field), a
connection string created inline, the script source, and the JSON sent to PUT /admin/etl."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.studio import Studio

pytestmark = pytest.mark.browser


def field_error(studio: Studio, name: str) -> str:
    return f'.field[data-field="{name}"] .field-error'


def test_task_form_validates_creates_a_connection_string_inline_and_saves_a_script(
        studio: Studio, new_database: str) -> None:
    page = studio.page
    db = new_database
    studio.open(f"#/db/{db}/ai/tasks/new")
    expect(page.locator("main h1")).to_have_text("New embeddings generation task")
    page.get_by_role("button", name="Save").click()
    for name in ("Name", "ConnectionStringName", "Collection", "EmbeddingsPathConfigurations[0].Path"):
        expect(page.locator(field_error(studio, name))).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    studio.shot("required-fields")

    # A connection string made from inside the form comes back selected.
    page.get_by_role("button", name="Create new").click()
    dialog = page.get_by_role("dialog", name="New AI connection string")
    expect(dialog.get_by_label("Chat")).to_be_disabled()
    dialog.get_by_label("Name").fill("Embedded model")
    dialog.get_by_label("Connector").select_option(label="Embedded (bge-micro-v2)")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Connection string")).to_have_value("Embedded model")
    expect(page.locator(field_error(studio, "ConnectionStringName"))).to_be_hidden()

    page.get_by_label("Name", exact=True).fill("Notes task")
    expect(page.get_by_label("Identifier")).to_have_value("notes-task")
    page.get_by_label("Collection").fill("Notes")
    page.get_by_label("Path", exact=True).fill("Text")
    page.get_by_role("button", name="Add path").click()
    second = page.locator(".path-row").nth(1)
    second.get_by_label("Path", exact=True).fill("Text")
    second.get_by_label("Chunking", exact=True).select_option(label="Plain text: split paragraphs")
    second.get_by_label("Overlap", exact=True).fill("600")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(field_error(studio, "EmbeddingsPathConfigurations[1].ChunkingOptions.OverlapTokens"))
           ).to_have_text("The overlap must be smaller than the chunk.")
    second.get_by_label("Overlap", exact=True).fill("32")

    # Two rows with one path: only the server knows it is a duplicate, and says so on row 2.
    studio.expect_error_response(f"/databases/{db}/admin/etl", 400)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(field_error(studio, "EmbeddingsPathConfigurations[1].Path"))).to_contain_text(
        "more than once")
    studio.shot("duplicate-path")
    second.get_by_role("button", name="Remove path 2").click()
    expect(page.locator(".path-row")).to_have_count(1)

    page.get_by_role("radio", name="Script").check()
    script = page.get_by_role("textbox", name="Script")
    expect(script).to_have_value(re.compile(r"embeddings\.generate\(\{"))
    script.fill("embeddings.generate({ Text: text.split(this.Text, 256) });")
    page.get_by_role("radio", name="Int8").check()
    page.get_by_label("Embeddings cache expiration (days)").fill("30")
    page.get_by_label("Query cache expiration (days)").fill("7")
    studio.shot("script")
    with page.expect_request(lambda r: r.method == "PUT" and "/admin/etl" in r.url) as sent:
        page.get_by_role("button", name="Save").click()
    body = json.loads(sent.value.post_data or "")
    assert body["EmbeddingsPathConfigurations"] is None
    assert body["EmbeddingsTransformation"] == {
        "Script": "embeddings.generate({ Text: text.split(this.Text, 256) });",
        "ChunkingOptions": {"ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 512, "OverlapTokens": 0,
                            "ContextPrefix": None}}
    assert body["Transforms"] == [{"Name": "embeddings-transform-script", "Disabled": False, "Collections": ["Notes"],
                                   "ApplyToAllDocuments": False, "Script": body["EmbeddingsTransformation"]["Script"],
                                   "DocumentIdPostfix": None}]
    assert body["Quantization"] == "Int8"
    assert body["EmbeddingsCacheExpiration"] == "30.00:00:00"
    assert body["EmbeddingsCacheForQueryingExpiration"] == "7.00:00:00"
    assert (body["Name"], body["Identifier"], body["ConnectionStringName"]) == (
        "Notes task", "notes-task", "Embedded model")

    expect(page.locator("main h1")).to_have_text("AI Tasks")
    stored = httpx.get(f"{studio.base_url}/databases/{db}/task", params={"taskName": "Notes task",
                                                                         "type": "EmbeddingsGeneration"}).json()
    assert stored["Configuration"]["EmbeddingsTransformation"]["Script"] == body["EmbeddingsTransformation"]["Script"]
    studio.shot("task-list")
