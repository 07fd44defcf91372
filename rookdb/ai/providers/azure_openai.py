"""Azure OpenAI: the OpenAI embeddings shape, addressed by deployment and authenticated with the
``api-key`` header."""

from __future__ import annotations

from rookdb.ai.connection_strings import AzureOpenAiSettings
from rookdb.ai.providers.base import join_url, require_http_url
from rookdb.ai.providers.openai import OpenAiCompatibleConnector
from rookdb.errors import AiConfigurationError

__all__ = ["AZURE_OPENAI_API_VERSION", "AZURE_OPENAI_MAX_BATCH_SIZE", "AzureOpenAiConnector"]

# The latest GA data-plane version of the Azure OpenAI inference REST API.
AZURE_OPENAI_API_VERSION = "2024-10-21"
# Azure documents 2048 inputs per request for text-embedding-3 / ada-002 deployments.
AZURE_OPENAI_MAX_BATCH_SIZE = 2048


class AzureOpenAiConnector(OpenAiCompatibleConnector):
    """POST ``{endpoint}/openai/deployments/{deployment}/embeddings?api-version=…``."""

    connector = "AzureOpenAi"
    vendor = "Azure OpenAI"
    protocol = "azure-openai"
    max_batch_size = AZURE_OPENAI_MAX_BATCH_SIZE
    # The deployment picks the model; Azure ignores a "model" field, so it is not sent.
    send_model = False

    def __init__(self, settings: AzureOpenAiSettings) -> None:
        super().__init__(api_key=settings.api_key, model=settings.model, dimensions=settings.dimensions,
                         settings_name="AzureOpenAiSettings")
        if not settings.deployment_name or not settings.deployment_name.strip():
            raise AiConfigurationError("AzureOpenAiSettings.DeploymentName is required")
        self._endpoint = require_http_url(settings.endpoint, "AzureOpenAiSettings.Endpoint")
        self._deployment = settings.deployment_name.strip()

    def url(self) -> str:
        base = join_url(self._endpoint, "openai", "deployments", self._deployment, "embeddings")
        return f"{base}?api-version={AZURE_OPENAI_API_VERSION}"

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["api-key"] = self._api_key
        return headers
