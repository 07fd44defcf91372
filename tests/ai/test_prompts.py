"""Prompts by model: the published conventions of asymmetric models, and the connection string's own."""

from __future__ import annotations

import dataclasses

import pytest

from rookdb.ai.connection_strings import (
    AiConnectionString,
    AiSettings,
    EmbeddedSettings,
    HuggingFaceSettings,
    OllamaSettings,
    OpenAiSettings,
)
from rookdb.ai.prompts import (
    CONVENTIONS,
    convention_for,
    document_prompt_changes,
    normalized_model_name,
    prompts_for,
)

RETRIEVAL = "Represent this sentence for searching relevant passages: "


def connection(settings: AiSettings, **prompts: str | None) -> AiConnectionString:
    return AiConnectionString("cs", "cs", "TextEmbeddings", settings, **prompts)  # type: ignore[arg-type]


def hf(model: str) -> HuggingFaceSettings:
    return HuggingFaceSettings(api_key="k", model=model)


@pytest.mark.parametrize(("model", "query", "document"), [
    ("intfloat/e5-small-v2", "query: ", "passage: "),
    ("intfloat/e5-large", "query: ", "passage: "),
    ("intfloat/multilingual-e5-base", "query: ", "passage: "),
    ("BAAI/bge-small-en-v1.5", RETRIEVAL, ""),
    ("BAAI/bge-large-en-v1.5", RETRIEVAL, ""),
    ("nomic-ai/nomic-embed-text-v1.5", "search_query: ", "search_document: "),
    ("nomic-embed-text:latest", "search_query: ", "search_document: "),
    ("nomic-ai/nomic-embed-text-v2-moe", "search_query: ", "search_document: "),
    ("mixedbread-ai/mxbai-embed-large-v1", RETRIEVAL, ""),
    ("mxbai-embed-large", RETRIEVAL, ""),
    ("Snowflake/snowflake-arctic-embed-m", RETRIEVAL, ""),
    ("Snowflake/snowflake-arctic-embed-l-v1.5", RETRIEVAL, ""),
    ("snowflake-arctic-embed:xs", RETRIEVAL, ""),
    ("Snowflake/snowflake-arctic-embed-l-v2.0", "query: ", ""),
    ("snowflake-arctic-embed2", "query: ", ""),
])
def test_known_models_get_their_published_prompts(model: str, query: str, document: str) -> None:
    prompts = prompts_for(connection(hf(model)))
    assert (prompts.query, prompts.document) == (query, document)
    assert prompts.family is not None
    assert prompts.query_source == "convention"


@pytest.mark.parametrize("model", [
    "sentence-transformers/all-MiniLM-L6-v2", "text-embedding-3-small", "mistral-embed", "BAAI/bge-m3",
    "all-minilm", "text-embedding-004",
])
def test_symmetric_and_unknown_models_get_no_prompt(model: str) -> None:
    prompts = prompts_for(connection(hf(model)))
    assert (prompts.query, prompts.document, prompts.family) == ("", "", None)
    assert prompts.query_source == prompts.document_source == "none"


def test_the_embedded_connector_has_no_prompt() -> None:
    assert prompts_for(connection(EmbeddedSettings())).query == ""


def test_conventions_apply_on_every_connector() -> None:
    for settings in (OpenAiSettings(api_key="k", endpoint="http://h/v1", model="intfloat/e5-small-v2"),
                     OllamaSettings(uri="http://h", model="intfloat/e5-small-v2"), hf("intfloat/e5-small-v2")):
        assert prompts_for(connection(settings)).document == "passage: "


def test_the_connection_string_overrides_each_prompt_and_empty_means_none() -> None:
    e5 = hf("intfloat/e5-small-v2")
    own = prompts_for(connection(e5, query_prompt="Q> ", document_prompt=""))
    assert (own.query, own.document) == ("Q> ", "")
    assert (own.query_source, own.document_source) == ("connection string", "connection string")
    assert own.family is None  # nothing came from the convention
    half = prompts_for(connection(e5, query_prompt="Q> "))
    assert (half.query, half.document, half.family) == ("Q> ", "passage: ", "E5")


def test_model_names_are_normalized() -> None:
    assert normalized_model_name(" hf.co/Intfloat/E5-Small-V2:latest ") == "e5-small-v2"
    assert convention_for(None) is None and convention_for("") is None


def test_instruct_variants_are_not_taken_for_their_family() -> None:
    instruct = convention_for("intfloat/multilingual-e5-large-instruct")
    assert instruct is not None and instruct.family == "E5 instruct"
    assert instruct.document == "" and instruct.query.startswith("Instruct: ")


def test_every_convention_has_a_query_prompt_and_a_distinct_family() -> None:
    assert all(convention.query for convention in CONVENTIONS)
    assert len({convention.family for convention in CONVENTIONS}) == len(CONVENTIONS)


def test_a_change_of_the_effective_document_prompt_is_reported() -> None:
    e5 = connection(hf("intfloat/e5-small-v2"))
    assert document_prompt_changes(e5, dataclasses.replace(e5, query_prompt="Q ")) == []
    assert document_prompt_changes(e5, dataclasses.replace(e5, document_prompt="passage: ")) == []
    assert document_prompt_changes(e5, dataclasses.replace(e5, document_prompt="")) == ["DocumentPrompt"]
