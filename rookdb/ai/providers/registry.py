"""The one place that maps a connection string's settings to the provider that serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

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
)
from rookdb.ai.providers.azure_openai import AzureOpenAiConnector
from rookdb.ai.providers.base import EmbeddingProvider, HttpConnector
from rookdb.ai.providers.embedded import EmbeddedProvider
from rookdb.ai.providers.google import GoogleConnector
from rookdb.ai.providers.huggingface import HuggingFaceConnector
from rookdb.ai.providers.mistral import MistralConnector
from rookdb.ai.providers.ollama import OllamaConnector
from rookdb.ai.providers.openai import OpenAiConnector
from rookdb.ai.providers.pipeline import DEFAULT_PROVIDER_OPTIONS, HttpEmbeddingProvider, ProviderOptions
from rookdb.ai.providers.vertex import VertexConnector
from rookdb.errors import AiConfigurationError

__all__ = ["PROVIDERS", "ProviderFactory", "connector_name", "create_provider"]

ProviderFactory = Callable[[Any, "httpx.AsyncClient | None", ProviderOptions], EmbeddingProvider]


def _http(name: str, make: Callable[[Any, ProviderOptions], HttpConnector]) -> tuple[str, ProviderFactory]:
    def factory(
        settings: Any, client: httpx.AsyncClient | None, options: ProviderOptions
    ) -> EmbeddingProvider:
        return HttpEmbeddingProvider(make(settings, options), http_client=client, options=options)

    return name, factory


def _embedded(settings: Any, client: httpx.AsyncClient | None, options: ProviderOptions) -> EmbeddingProvider:
    return EmbeddedProvider(config=options.embedded_model)


# Settings class → (RavenDB connector name, factory). Add a vendor here and nowhere else.
PROVIDERS: dict[type[Any], tuple[str, ProviderFactory]] = {
    HuggingFaceSettings: _http("HuggingFace", lambda s, o: HuggingFaceConnector(s, api_base=o.api_base)),
    OpenAiSettings: _http("OpenAi", lambda s, o: OpenAiConnector(s)),
    AzureOpenAiSettings: _http("AzureOpenAi", lambda s, o: AzureOpenAiConnector(s)),
    MistralAiSettings: _http("MistralAi", lambda s, o: MistralConnector(s)),
    OllamaSettings: _http("Ollama", lambda s, o: OllamaConnector(s)),
    GoogleSettings: _http("Google", lambda s, o: GoogleConnector(s, api_base=o.api_base)),
    VertexSettings: _http("Vertex", lambda s, o: VertexConnector(s, api_base=o.api_base)),
    EmbeddedSettings: ("Embedded", _embedded),
}


def _entry(settings: AiSettings) -> tuple[str, ProviderFactory]:
    entry = PROVIDERS.get(type(settings))
    if entry is None:
        raise AiConfigurationError(f"No embeddings provider for {type(settings).__name__}")
    return entry


def connector_name(settings: AiSettings) -> str:
    """RavenDB's connector name for ``settings`` (``HuggingFace``, ``OpenAi`` …)."""
    return _entry(settings)[0]


def create_provider(
    settings: AiSettings,
    *,
    http_client: httpx.AsyncClient | None = None,
    options: ProviderOptions = DEFAULT_PROVIDER_OPTIONS,
) -> EmbeddingProvider:
    """The provider for ``settings``. Settings that can never work raise ``AiConfigurationError``
    here; nothing is sent until ``embed``. A given ``http_client`` is shared, not closed."""
    return _entry(settings)[1](settings, http_client, options)
