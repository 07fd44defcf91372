"""Google AI (Gemini API): ``models/{model}:batchEmbedContents`` with the ``x-goog-api-key``
header. Not Vertex AI: different host, credentials and body (see ``vertex.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.ai.connection_strings import GoogleSettings
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
from rookdb.errors import AiAuthenticationError, AiConfigurationError, AiResponseShapeError

__all__ = [
    "GOOGLE_AI_BASE_URL",
    "GOOGLE_AI_MAX_BATCH_SIZE",
    "GOOGLE_API_VERSIONS",
    "GoogleConnector",
    "classify_google",
    "google_error_reason",
]

GOOGLE_AI_BASE_URL = "https://generativelanguage.googleapis.com"
# batchEmbedContents accepts at most 100 requests per call.
GOOGLE_AI_MAX_BATCH_SIZE = 100
# RavenDB's AiVersion values → URL path segment; unset means V1_Beta.
GOOGLE_API_VERSIONS = {"V1": "v1", "V1_Beta": "v1beta"}
_DEFAULT_VERSION = "V1_Beta"
# Google answers 400 INVALID_ARGUMENT (not 401) for a wrong API key; the reason tells.
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED"})


def google_error_reason(body: Any) -> str | None:
    """``error.details[].reason`` of a Google API error body, if any."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            return str(detail["reason"])
    return None


def classify_google(vendor: str, response: ProviderResponse) -> Failure:
    """Google's error shape ``{"error": {code, message, status, details}}`` (shared with Vertex)."""
    detail = error_text(response)
    reason = google_error_reason(response.body)
    if reason in _AUTH_REASONS:
        return Failure(AiAuthenticationError(
            f"{vendor} {response.url} answered {response.status}: {detail} ({reason}). Check the API key.",
            provider_status=response.status))
    return classify_status(vendor, response, detail)


class GoogleConnector(HttpConnector):
    connector = "Google"
    vendor = "Google AI"
    protocol = "google-ai"
    max_batch_size = GOOGLE_AI_MAX_BATCH_SIZE

    def __init__(self, settings: GoogleSettings, *, api_base: str | None = None) -> None:
        if not settings.model or not settings.model.strip():
            raise AiConfigurationError("GoogleSettings.Model is required")
        version = settings.ai_version or _DEFAULT_VERSION
        if version not in GOOGLE_API_VERSIONS:
            raise AiConfigurationError(f"GoogleSettings.AiVersion must be V1 or V1_Beta, got {version!r}")
        if settings.dimensions is not None and settings.dimensions < 1:
            raise AiConfigurationError("GoogleSettings.Dimensions must be positive")
        # Accept "models/x" as well as "x": the API names models with that prefix.
        self.model = settings.model.strip().removeprefix("models/")
        self.dimensions = settings.dimensions
        self._api_key = settings.api_key or ""
        base = require_http_url(api_base, "api_base") if api_base else GOOGLE_AI_BASE_URL
        self._url = join_url(base, GOOGLE_API_VERSIONS[version], "models", f"{self.model}:batchEmbedContents")

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

    def endpoint_url(self) -> str:
        return self._url

    def build_request(self, texts: Sequence[str]) -> ProviderRequest:
        requests: list[dict[str, Any]] = []
        for text in texts:
            item: dict[str, Any] = {"model": f"models/{self.model}", "content": {"parts": [{"text": text}]}}
            if self.dimensions is not None:
                item["outputDimensionality"] = self.dimensions
            requests.append(item)
        headers = {"Accept": "application/json", "x-goog-api-key": self._api_key}
        return ProviderRequest("POST", self._url, headers, json={"requests": requests})

    def parse_response(self, body: Any, count: int) -> list[list[float]]:
        embeddings = body.get("embeddings") if isinstance(body, dict) else None
        if not isinstance(embeddings, list) or not all(
            isinstance(item, dict) and "values" in item for item in embeddings
        ):
            raise AiResponseShapeError(
                f"Google AI answered {describe(body)}; expected {{\"embeddings\": [{{\"values\": [...]}}]}}")
        return as_vectors([item["values"] for item in embeddings], count, "Google AI embeddings[].values")

    def classify(self, response: ProviderResponse) -> Failure:
        return classify_google(self.vendor, response)
