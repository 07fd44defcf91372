"""The registry maps every settings class to a provider; the package exports what it declares."""

from __future__ import annotations

import typing

import pytest

from rookdb.ai import providers
from rookdb.ai.connection_strings import (
    AiSettings,
    AzureOpenAiSettings,
    EmbeddedSettings,
    GoogleSettings,
    HuggingFaceSettings,
    MistralAiSettings,
    OllamaSettings,
    OpenAiSettings,
    VertexSettings,
    connector_name,
)
from rookdb.ai.providers import create_provider
from rookdb.ai.providers.registry import PROVIDERS
from rookdb.errors import AiConfigurationError
from rookdb.testing.embedding_server import EmbeddingServer

SAMPLES = [
    (HuggingFaceSettings(api_key="hf_x", model="m"), "HuggingFace", "hf-router"),
    (OpenAiSettings(api_key="k", endpoint="https://api.openai.com/v1", model="m"), "OpenAi", "openai"),
    (AzureOpenAiSettings(api_key="k", endpoint="https://r.openai.azure.com", model="m", deployment_name="d"),
     "AzureOpenAi", "azure-openai"),
    (MistralAiSettings(api_key="k", endpoint="https://api.mistral.ai/v1", model="mistral-embed"),
     "MistralAi", "mistral"),
    (OllamaSettings(uri="http://localhost:11434", model="all-minilm"), "Ollama", "ollama"),
    (GoogleSettings(api_key="k", model="text-embedding-004"), "Google", "google-ai"),
    (EmbeddedSettings(), "Embedded", "embedded"),
]


def test_every_settings_class_is_registered() -> None:
    assert set(typing.get_args(AiSettings)) == set(PROVIDERS)


@pytest.mark.parametrize(("settings", "name", "protocol"), SAMPLES)
def test_create_provider(settings: AiSettings, name: str, protocol: str) -> None:
    provider = create_provider(settings)
    assert provider.connector == connector_name(settings) == name
    assert provider.detected_protocol == protocol


def test_vertex_is_registered(embedding_server: EmbeddingServer) -> None:
    settings = VertexSettings(model="text-embedding-005", location="us-central1",
                              google_credentials_json=embedding_server.create_service_account())
    assert create_provider(settings).connector == "Vertex"


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(AiConfigurationError, match="No embeddings provider for str"):
        create_provider("not settings")  # type: ignore[arg-type]


def test_package_exports_match_all() -> None:
    public = {name for name in vars(providers) if not name.startswith("_")}
    modules = {"base", "embedded", "pipeline", "registry", "huggingface", "openai", "azure_openai", "mistral",
               "ollama", "google", "vertex", "throttle"}
    assert sorted(providers.__all__) == providers.__all__
    assert set(providers.__all__) == public - modules
