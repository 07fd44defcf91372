"""Mistral AI: POST ``{endpoint}/embeddings`` with ``{"model", "input"}`` and a Bearer key; the
answer has OpenAI's ``data[].embedding`` shape."""

from __future__ import annotations

from rookdb.ai.connection_strings import MistralAiSettings
from rookdb.ai.providers.base import (
    Failure,
    ProviderResponse,
    classify_status,
    error_text,
    join_url,
    require_http_url,
)
from rookdb.ai.providers.openai import OpenAiCompatibleConnector
from rookdb.errors import AiModelNotFoundError

__all__ = ["MISTRAL_MAX_BATCH_SIZE", "MistralConnector"]

# Mistral caps a request by tokens rather than inputs; this keeps typical chunks well inside it.
MISTRAL_MAX_BATCH_SIZE = 128


class MistralConnector(OpenAiCompatibleConnector):
    connector = "MistralAi"
    vendor = "Mistral AI"
    protocol = "mistral"
    max_batch_size = MISTRAL_MAX_BATCH_SIZE

    def __init__(self, settings: MistralAiSettings) -> None:
        super().__init__(api_key=settings.api_key, model=settings.model, dimensions=None,
                         settings_name="MistralAiSettings")
        self._endpoint = require_http_url(settings.endpoint, "MistralAiSettings.Endpoint")

    def url(self) -> str:
        return join_url(self._endpoint, "embeddings")

    def classify(self, response: ProviderResponse) -> Failure:
        detail = error_text(response)
        body = response.body if isinstance(response.body, dict) else {}
        if response.status in (400, 404) and body.get("type") == "invalid_model":
            # Mistral answers an unknown model with 400 {"type": "invalid_model"}.
            return Failure(AiModelNotFoundError(
                f"Mistral AI {response.url} answered {response.status}: {detail}. Check the model name",
                provider_status=response.status))
        return classify_status(self.vendor, response, detail)
