"""Embedding providers: one adapter per vendor, one HTTP pipeline, one registry."""

from rookdb.ai.connection_strings import connector_name
from rookdb.ai.providers.base import EmbeddingProvider, HttpConnector
from rookdb.ai.providers.embedded import EmbeddedProvider
from rookdb.ai.providers.pipeline import (
    DEFAULT_PROVIDER_OPTIONS,
    DEFAULT_RETRY_POLICY,
    DEFAULT_TIMEOUTS,
    HttpEmbeddingProvider,
    ProviderOptions,
    RetryPolicy,
    Timeouts,
)
from rookdb.ai.providers.registry import create_provider

__all__ = [
    "DEFAULT_PROVIDER_OPTIONS",
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUTS",
    "EmbeddedProvider",
    "EmbeddingProvider",
    "HttpConnector",
    "HttpEmbeddingProvider",
    "ProviderOptions",
    "RetryPolicy",
    "Timeouts",
    "connector_name",
    "create_provider",
]
