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

__all__ = ["PROVIDERS", "ProviderFactory", "create_provider"]

ProviderFactory = Callable[[Any, "httpx.AsyncClient | None", ProviderOptions], EmbeddingProvider]


def _http(make: Callable[[Any, ProviderOptions], HttpConnector]) -> ProviderFactory:
    def factory(
        settings: Any, client: httpx.AsyncClient | None, options: ProviderOptions
    ) -> EmbeddingProvider:
        return HttpEmbeddingProvider(make(settings, options), http_client=client, options=options)

    return factory


def _embedded(settings: Any, client: httpx.AsyncClient | None, options: ProviderOptions) -> EmbeddingProvider:
    return EmbeddedProvider(config=options.embedded_model)


# Settings class → factory; connector names live in ``connection_strings.CONNECTORS``.
PROVIDERS: dict[type[Any], ProviderFactory] = {
    HuggingFaceSettings: _http(lambda s, o: HuggingFaceConnector(s, api_base=o.api_base)),
    OpenAiSettings: _http(lambda s, o: OpenAiConnector(s)),
    AzureOpenAiSettings: _http(lambda s, o: AzureOpenAiConnector(s)),
    MistralAiSettings: _http(lambda s, o: MistralConnector(s)),
    OllamaSettings: _http(lambda s, o: OllamaConnector(s)),
    GoogleSettings: _http(lambda s, o: GoogleConnector(s, api_base=o.api_base)),
    VertexSettings: _http(lambda s, o: VertexConnector(s, api_base=o.api_base)),
    EmbeddedSettings: _embedded,
}


def create_provider(
    settings: AiSettings,
    *,
    http_client: httpx.AsyncClient | None = None,
    options: ProviderOptions = DEFAULT_PROVIDER_OPTIONS,
) -> EmbeddingProvider:
    """The provider for ``settings``. Settings that can never work raise ``AiConfigurationError``
    here; nothing is sent until ``embed``. A given ``http_client`` is shared, not closed."""
    factory = PROVIDERS.get(type(settings))
    if factory is None:
        raise AiConfigurationError(f"No embeddings provider for {type(settings).__name__}")
    return factory(settings, http_client, options)
