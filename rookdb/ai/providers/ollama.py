"""Ollama: POST ``{uri}/api/embed`` with ``{"model", "input": [...]}`` → ``{"embeddings": [...]}``.

Ollama has no authentication and answers errors as ``{"error": "..."}`` (404 when the model has
not been pulled).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.ai.connection_strings import OllamaSettings
from rookdb.ai.providers.base import (
    Failure,
    HttpConnector,
    ProviderRequest,
    ProviderResponse,
    as_vectors,
    classify_status,
    describe,
    error_text,
    join_url,
    require_http_url,
)
from rookdb.errors import AiConfigurationError, AiModelNotFoundError, AiResponseShapeError

__all__ = ["OLLAMA_MAX_BATCH_SIZE", "OllamaConnector"]

# Ollama documents no limit; a local server embeds a batch sequentially, so larger requests only
# make timeouts likelier.
OLLAMA_MAX_BATCH_SIZE = 64


class OllamaConnector(HttpConnector):
    connector = "Ollama"
    vendor = "Ollama"
    protocol = "ollama"
    max_batch_size = OLLAMA_MAX_BATCH_SIZE

    def __init__(self, settings: OllamaSettings) -> None:
        if not settings.model or not settings.model.strip():
            raise AiConfigurationError("OllamaSettings.Model is required")
        self.model = settings.model.strip()
        self._uri = require_http_url(settings.uri, "OllamaSettings.Uri")

    def endpoint_url(self) -> str:
        return join_url(self._uri, "api", "embed")

    def build_request(self, texts: Sequence[str]) -> ProviderRequest:
        return ProviderRequest("POST", self.endpoint_url(), {"Accept": "application/json"},
                               json={"model": self.model, "input": list(texts)})

    def parse_response(self, body: Any, count: int) -> list[list[float]]:
        if not isinstance(body, dict) or "embeddings" not in body:
            raise AiResponseShapeError(
                f"Ollama answered {describe(body)}; expected {{\"embeddings\": [...]}}")
        return as_vectors(body["embeddings"], count, "Ollama embeddings")

    def usage(self, response: ProviderResponse) -> int | None:
        """``prompt_eval_count``: the tokens Ollama evaluated."""
        tokens = response.body.get("prompt_eval_count") if isinstance(response.body, dict) else None
        return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None

    def classify(self, response: ProviderResponse) -> Failure:
        detail = error_text(response)
        if response.status == 404:
            return Failure(AiModelNotFoundError(
                f"Ollama {response.url} answered 404: {detail or 'Not Found'}. "
                f"Pull the model first (ollama pull {self.model})", provider_status=404))
        return classify_status(self.vendor, response, detail)
