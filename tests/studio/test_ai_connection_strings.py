"""AI Hub → AI Connection Strings: the form in the Studio's order, connectors filtered by model type,
masked secrets, the exact JSON the official client sends, and field-level errors from the server."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Locator, expect

from tests.support.studio import Studio

pytestmark = pytest.mark.browser

HUGGING_FACE_DEFAULT_ENDPOINT = "https://api-inference.huggingface.co/"
EMBEDDINGS_CONNECTORS = ["OpenAI", "Azure OpenAI", "Google AI", "Vertex AI", "Mistral AI", "Hugging Face", "Ollama",
                         "Embedded (bge-micro-v2)"]
CHAT_CONNECTORS = ["OpenAI", "Azure OpenAI", "Google AI", "Ollama"]
MASKED = re.compile(r"\bmasked\b")
# rookdb's own fields, after RavenDB's, for embeddings models.
EXTRAS = ["Query prompt", "Document prompt", "Requests per minute", "Tokens per minute", "Price per million tokens"]
PROVIDER_KEYS = ["OpenAiSettings", "AzureOpenAiSettings", "OllamaSettings", "EmbeddedSettings", "GoogleSettings",
                 "HuggingFaceSettings", "MistralAiSettings", "VertexSettings"]


def open_form(studio: Studio, database: str) -> Locator:
    studio.open(f"#/db/{database}/ai/connection-strings")
    studio.page.get_by_role("button", name="Add new").first.click()
    dialog = studio.page.get_by_role("dialog", name="New AI connection string")
    expect(dialog).to_be_visible()
    return dialog


def labels(dialog: Locator) -> list[str]:
    """The visible field labels, in order."""
    found = dialog.locator(".field > label, .field > .fieldset-label").all()
    return [label.inner_text().replace("optional", "").strip() for label in found if label.is_visible()]


def connector_options(dialog: Locator) -> list[str]:
    return dialog.get_by_label("Connector").locator("option").all_inner_texts()[1:]


def test_the_form_follows_the_studio_order(studio: Studio, new_database: str) -> None:
    dialog = open_form(studio, new_database)
    expect(dialog.get_by_label("Name")).to_be_focused()
    assert labels(dialog) == ["Name", "Identifier", "Model type", "Connector", "Max concurrent query batches",
                              *EXTRAS]
    studio.shot("empty-form")

    dialog.get_by_label("Name").fill("My connection string to Hugging Face")
    expect(dialog.get_by_label("Identifier")).to_have_value("my-connection-string-to-hugging-face")
    dialog.get_by_label("Identifier").fill("custom-id")
    dialog.get_by_label("Name").fill("Renamed")
    expect(dialog.get_by_label("Identifier")).to_have_value("custom-id")
    dialog.get_by_role("button", name="Regenerate").click()
    expect(dialog.get_by_label("Identifier")).to_have_value("renamed")
    dialog.get_by_label("Identifier").fill("Bad--Id-")
    dialog.get_by_label("Identifier").blur()
    expect(dialog.locator(".field[data-field=Identifier] .field-error")).to_contain_text("uppercase")
    dialog.get_by_role("button", name="Regenerate").click()
    expect(dialog.locator(".field[data-field=Identifier] .field-error")).to_be_hidden()

    dialog.get_by_label("Connector").select_option(label="Hugging Face")
    assert labels(dialog) == ["Name", "Identifier", "Model type", "Connector", "API key", "Endpoint", "Model",
                              "Max concurrent query batches", *EXTRAS]
    expect(dialog.get_by_label("Endpoint")).to_have_attribute("placeholder", HUGGING_FACE_DEFAULT_ENDPOINT)
    expect(dialog.get_by_role("button", name="Test connection")).to_be_visible()
    footer = dialog.locator(".dialog-footer").get_by_role("button").all_inner_texts()
    assert footer == ["Cancel", "Save"]
    studio.shot("hugging-face")

    # Esc cancels without saving.
    studio.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(studio.page.get_by_text("No AI connection strings yet")).to_be_visible()


def test_connectors_are_filtered_by_model_type(studio: Studio, new_database: str) -> None:
    dialog = open_form(studio, new_database)
    assert connector_options(dialog) == EMBEDDINGS_CONNECTORS
    dialog.get_by_label("Connector").select_option(label="Hugging Face")
    dialog.get_by_text("Chat", exact=True).click()
    assert connector_options(dialog) == CHAT_CONNECTORS
    # Hugging Face serves embeddings only, so it is no longer selected.
    expect(dialog.get_by_label("Connector")).to_have_value("")

    dialog.get_by_label("Connector").select_option(label="OpenAI")
    assert labels(dialog)[4:] == ["API key", "Endpoint", "Model", "Organization ID", "Project ID", "Temperature",
                                  "Max concurrent query batches"]
    dialog.get_by_text("Text embeddings", exact=True).click()
    assert labels(dialog)[4:] == ["API key", "Endpoint", "Model", "Organization ID", "Project ID", "Dimensions",
                                  "Max concurrent query batches", *EXTRAS]
    studio.shot("openai-embeddings")


def test_secrets_are_masked_until_shown_and_embedded_has_no_test(studio: Studio, new_database: str) -> None:
    dialog = open_form(studio, new_database)
    dialog.get_by_label("Connector").select_option(label="Mistral AI")
    api_key = dialog.get_by_label("API key")
    api_key.fill("sk-secret")
    expect(api_key).to_have_attribute("type", "password")
    show = dialog.get_by_role("button", name="Show")
    show.click()
    expect(api_key).to_have_attribute("type", "text")
    expect(dialog.get_by_role("button", name="Hide")).to_have_attribute("aria-pressed", "true")
    dialog.get_by_role("button", name="Hide").click()
    expect(api_key).to_have_attribute("type", "password")

    dialog.get_by_label("Connector").select_option(label="Vertex AI")
    credentials = dialog.get_by_label("Google credentials (JSON)")
    expect(credentials).to_have_class(MASKED)
    dialog.get_by_role("button", name="Show credentials").click()
    expect(credentials).not_to_have_class(MASKED)
    studio.shot("vertex")

    dialog.get_by_label("Connector").select_option(label="Embedded (bge-micro-v2)")
    expect(dialog.get_by_role("button", name="Test connection")).to_be_hidden()
    assert labels(dialog) == ["Name", "Identifier", "Model type", "Connector", "Max concurrent query batches",
                              *EXTRAS]
    studio.shot("embedded")


def test_save_sends_the_clients_json_and_lists_it(studio: Studio, new_database: str) -> None:
    page = studio.page
    dialog = open_form(studio, new_database)
    dialog.get_by_label("Name").fill("ConnectionStringToHuggingFace")
    dialog.get_by_label("Identifier").fill("identifier-to-the-connection-string")
    dialog.get_by_label("Connector").select_option(label="Hugging Face")
    dialog.get_by_label("API key").fill("your-api-key")
    dialog.get_by_label("Model", exact=True).fill("sentence-transformers/all-MiniLM-L6-v2")
    dialog.get_by_label("Max concurrent query batches").fill("10")
    with page.expect_request(lambda r: r.method == "PUT" and r.url.endswith("/admin/connection-strings")) as sent:
        dialog.get_by_label("Model", exact=True).press("Enter")
    expect(dialog).to_be_hidden()
    body = json.loads(sent.value.post_data or "")
    assert list(body) == ["Name", "Identifier", *PROVIDER_KEYS, "ModelType", "Type"]
    assert body == {
        "Name": "ConnectionStringToHuggingFace", "Identifier": "identifier-to-the-connection-string",
        **{key: None for key in PROVIDER_KEYS},
        "HuggingFaceSettings": {"ApiKey": "your-api-key", "Model": "sentence-transformers/all-MiniLM-L6-v2",
                                "Endpoint": None, "EmbeddingsMaxConcurrentBatches": 10},
        "ModelType": "TextEmbeddings", "Type": "Ai",
    }

    row = page.get_by_role("row").filter(has_text="ConnectionStringToHuggingFace")
    expect(row).to_contain_text("identifier-to-the-connection-string")
    expect(row).to_contain_text("Hugging Face")
    expect(row).to_contain_text("sentence-transformers/all-MiniLM-L6-v2")
    expect(row).to_contain_text("Not in use")
    studio.shot("listed")

    row.get_by_role("button", name="Edit ConnectionStringToHuggingFace").click()
    edit = page.get_by_role("dialog", name="Edit connection string 'ConnectionStringToHuggingFace'")
    expect(edit.get_by_label("Name")).to_have_attribute("readonly", "")
    expect(edit.get_by_label("Model", exact=True)).to_have_value("sentence-transformers/all-MiniLM-L6-v2")
    expect(edit.get_by_label("API key")).to_have_attribute("type", "password")
    edit.get_by_label("Endpoint").fill("https://router.huggingface.co/hf-inference")
    edit.get_by_role("button", name="Save").click()
    expect(edit).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="Connection string 'ConnectionStringToHuggingFace' saved.")
           ).to_have_count(2)

    row.get_by_role("button", name="Delete ConnectionStringToHuggingFace").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No AI connection strings yet")).to_be_visible()


def test_prompts_are_edited_sent_only_when_set_and_errors_land_next_to_them(
        studio: Studio, new_database: str) -> None:
    page = studio.page
    dialog = open_form(studio, new_database)
    dialog.get_by_label("Name").fill("E5")
    dialog.get_by_label("Connector").select_option(label="Ollama")
    dialog.get_by_label("URI").fill("http://127.0.0.1:11434")
    dialog.get_by_label("Model", exact=True).fill("intfloat/e5-small-v2")
    expect(dialog.get_by_label("Query prompt text")).to_be_hidden()
    dialog.locator("select[name=QueryPrompt]").select_option(label="Custom")
    dialog.get_by_label("Query prompt text").fill("Find: ")
    dialog.locator("select[name=DocumentPrompt]").select_option(label="None")
    studio.shot("prompts")
    with page.expect_request(lambda r: r.method == "PUT" and r.url.endswith("/admin/connection-strings")) as sent:
        dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    body = json.loads(sent.value.post_data or "")
    assert (body["QueryPrompt"], body["DocumentPrompt"]) == ("Find: ", "")

    page.get_by_role("button", name="Edit E5").click()
    edit = page.get_by_role("dialog", name="Edit connection string 'E5'")
    expect(edit.get_by_label("Query prompt text")).to_have_value("Find: ")
    expect(edit.locator("select[name=DocumentPrompt]")).to_have_value("none")
    edit.locator("select[name=QueryPrompt]").select_option(label="Model's convention")
    with page.expect_request(lambda r: r.method == "PUT" and r.url.endswith("/admin/connection-strings")) as again:
        edit.get_by_role("button", name="Save").click()
    expect(edit).to_be_hidden()
    assert json.loads(again.value.post_data or "")["QueryPrompt"] is None  # sent, so the stored one is reset

    studio.expect_error_response(f"/databases/{new_database}/admin/connection-strings", 400)
    page.get_by_role("button", name="Edit E5").click()
    edit = page.get_by_role("dialog", name="Edit connection string 'E5'")
    edit.locator("select[name=DocumentPrompt]").select_option(label="Custom")
    edit.get_by_label("Document prompt text").evaluate("(input, text) => { input.value = text; }", "d" * 1001)
    edit.get_by_label("Document prompt text").dispatch_event("input")
    edit.get_by_role("button", name="Save").click()
    expect(edit.locator('.field[data-field="DocumentPrompt"] .field-error')).to_contain_text("at most 1000")


def test_declared_rate_limits_are_checked_and_sent(studio: Studio, new_database: str) -> None:
    page = studio.page
    dialog = open_form(studio, new_database)
    dialog.get_by_label("Name").fill("Limited")
    dialog.get_by_label("Connector").select_option(label="Ollama")
    dialog.get_by_label("URI").fill("http://127.0.0.1:11434")
    dialog.get_by_label("Model", exact=True).fill("all-minilm")
    dialog.get_by_label("Requests per minute").fill("0")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator('.field[data-field="RequestsPerMinute"] .field-error')).to_have_text(
        "Enter a whole number of at least 1.")
    dialog.get_by_label("Requests per minute").fill("3000")
    dialog.get_by_label("Tokens per minute").fill("1000000")
    with page.expect_request(lambda r: r.method == "PUT" and r.url.endswith("/admin/connection-strings")) as sent:
        dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    body = json.loads(sent.value.post_data or "")
    assert (body["RequestsPerMinute"], body["TokensPerMinute"]) == (3000, 1_000_000)
    assert "QueryPrompt" not in body  # left at the convention: not sent


def test_server_validation_is_shown_next_to_the_field(studio: Studio, new_database: str) -> None:
    studio.expect_error_response(f"/databases/{new_database}/admin/connection-strings", 400)
    dialog = open_form(studio, new_database)
    dialog.get_by_label("Name").fill("Broken endpoint")
    dialog.get_by_label("Connector").select_option(label="Hugging Face")
    dialog.get_by_label("API key").fill("key")
    dialog.get_by_label("Endpoint").fill("ftp://example.invalid")
    dialog.get_by_label("Model", exact=True).fill("m")
    dialog.get_by_role("button", name="Save").click()
    endpoint_error = dialog.locator('.field[data-field="HuggingFaceSettings.Endpoint"] .field-error')
    expect(endpoint_error).to_contain_text("http")
    expect(dialog.get_by_label("Endpoint")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_label("Endpoint")).to_be_focused()
    studio.shot("endpoint-error")

    # Required fields are checked before anything is sent.
    dialog.get_by_label("Model", exact=True).fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator('.field[data-field="HuggingFaceSettings.Model"] .field-error')).to_have_text(
        "Model is required.")
