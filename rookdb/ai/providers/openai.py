"""OpenAI and every OpenAI-compatible ``/embeddings`` API (the shared base of Azure and Mistral).

Contract: POST ``{endpoint}/embeddings`` with ``{"model", "input": [...], "dimensions"?}``;
the answer is ``{"data": [{"embedding": [...], "index": i}, ...]}``, ordered by ``index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.ai.connection_strings import OpenAiSettings
from rookdb.ai.providers.base import (
    HttpConnector,
    ProviderRequest,
    ProviderResponse,
    as_vectors,
    describe,
    join_url,
    require_http_url,
)
from rookdb.errors import AiConfigurationError, AiResponseShapeError

__all__ = ["OPENAI_MAX_BATCH_SIZE", "OpenAiCompatibleConnector", "OpenAiConnector"]

# OpenAI's documented limit on the number of inputs of one embeddings request.
OPENAI_MAX_BATCH_SIZE = 2048


class OpenAiCompatibleConnector(HttpConnector):
    """Request/response handling shared by every vendor that speaks OpenAI's embeddings shape.
    Subclasses give the URL and headers."""

    max_batch_size = OPENAI_MAX_BATCH_SIZE
    send_model = True

    def __init__(self, *, api_key: str, model: str, dimensions: int | None, settings_name: str) -> None:
        if not model or not model.strip():
            raise AiConfigurationError(f"{settings_name}.Model is required")
        if dimensions is not None and dimensions < 1:
            raise AiConfigurationError(f"{settings_name}.Dimensions must be positive")
        self.model = model.strip()
        self.dimensions = dimensions
        self._api_key = api_key or ""

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

    def url(self) -> str:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def endpoint_url(self) -> str | None:
        return self.url()

    def build_request(self, texts: Sequence[str]) -> ProviderRequest:
        body: dict[str, Any] = {"input": list(texts)}
        if self.send_model:
            body["model"] = self.model
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        return ProviderRequest("POST", self.url(), self.headers(), json=body)

    def parse_response(self, body: Any, count: int) -> list[list[float]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise AiResponseShapeError(
                f"{self.vendor} answered {describe(body)}; expected {{\"data\": [...]}}")
        if not all(isinstance(item, dict) and "embedding" in item for item in data):
            raise AiResponseShapeError(f"{self.vendor} data items lack \"embedding\"")
        if all(isinstance(item.get("index"), int) for item in data):
            data = sorted(data, key=lambda item: int(item["index"]))
            if [item["index"] for item in data] != list(range(len(data))):
                raise AiResponseShapeError(f"{self.vendor} data indexes are not 0..{len(data) - 1}")
        return as_vectors([item["embedding"] for item in data], count, f"{self.vendor} data[].embedding")

    def usage(self, response: ProviderResponse) -> int | None:
        """``usage.prompt_tokens`` (OpenAI, Azure, Mistral and compatible servers)."""
        usage = response.body.get("usage") if isinstance(response.body, dict) else None
        tokens = usage.get("prompt_tokens", usage.get("total_tokens")) if isinstance(usage, dict) else None
        return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None


class OpenAiConnector(OpenAiCompatibleConnector):
    """OpenAI itself, or any compatible server given by its base URL (``…/v1``)."""

    connector = "OpenAi"
    vendor = "OpenAI"
    protocol = "openai"

    def __init__(self, settings: OpenAiSettings) -> None:
        super().__init__(api_key=settings.api_key, model=settings.model, dimensions=settings.dimensions,
                         settings_name="OpenAiSettings")
        self._endpoint = require_http_url(settings.endpoint, "OpenAiSettings.Endpoint")
        self._organization = settings.organization_id
        self._project = settings.project_id

    def url(self) -> str:
        return join_url(self._endpoint, "embeddings")

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self._organization:
            headers["OpenAI-Organization"] = self._organization
        if self._project:
            headers["OpenAI-Project"] = self._project
        return headers
