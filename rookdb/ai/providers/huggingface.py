"""Hugging Face: the Inference Providers router (hf-inference), TEI servers and Inference
Endpoints, all behind one ``HuggingFaceSettings``.

RavenDB builds ``{endpoint}/pipeline/feature-extraction/{model}`` on the retired
``api-inference.huggingface.co`` host, which no longer answers. rookdb resolves the URL instead
(``resolve_url``): the router for the default or retired host, ``/embed`` for a server that
answers TEI's ``GET /info``, and the endpoint as given otherwise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np

from rookdb.ai.connection_strings import HuggingFaceSettings
from rookdb.ai.providers.base import (
    Failure,
    HttpConnector,
    ProviderRequest,
    ProviderResponse,
    Send,
    as_vectors,
    classify_status,
    describe,
    error_text,
    join_url,
    require_http_url,
)
from rookdb.errors import (
    AiAuthenticationError,
    AiConfigurationError,
    AiEndpointRetiredError,
    AiModelLoadingError,
    AiModelNotFoundError,
    AiRateLimitError,
    AiResponseShapeError,
)

__all__ = [
    "HF_ROUTER_BASE",
    "RETIRED_HOST",
    "HfProtocol",
    "HfRoute",
    "HuggingFaceConnector",
    "resolve_url",
]

logger = logging.getLogger("rookdb.ai.providers")

HF_INFERENCE_PROVIDER = "hf-inference"
HF_ROUTER_BASE = f"https://router.huggingface.co/{HF_INFERENCE_PROVIDER}"
RETIRED_HOST = "api-inference.huggingface.co"
FEATURE_EXTRACTION = "pipeline/feature-extraction"
# TEI's default max_client_batch_size; the router documents no limit. A smaller server limit is
# learned from /info or from the 422 that names it.
HF_MAX_BATCH_SIZE = 32

HfProtocol = Literal["hf-router", "tei", "hf-endpoint-raw"]

_BATCH_LIMIT = re.compile(r"maximum allowed batch size (\d+)", re.IGNORECASE)
_BATCH_REFUSED = re.compile(r"batch size|batch too large|too many inputs", re.IGNORECASE)


@dataclass(frozen=True)
class HfRoute:
    """Where embeddings go: a final ``url`` (router), or a ``probe_base`` to ask ``/info``."""

    url: str | None
    protocol: HfProtocol | None
    probe_base: str | None = None
    rewritten_retired_host: bool = False


def router_url(model: str, router_base: str = HF_ROUTER_BASE) -> str:
    return join_url(router_base, "models", model, FEATURE_EXTRACTION)


def resolve_url(endpoint: str | None, model: str, *, router_base: str = HF_ROUTER_BASE) -> HfRoute:
    """Rule A5: default/retired host → router; the router base → router model URL; a URL already
    on the router's feature-extraction path → as given; anything else → probe ``/info``."""
    if endpoint is None or not endpoint.strip():
        return HfRoute(router_url(model, router_base), "hf-router")
    endpoint = require_http_url(endpoint, "HuggingFaceSettings.Endpoint")
    parts = urlsplit(endpoint)
    if (parts.hostname or "").lower() == RETIRED_HOST:
        return HfRoute(router_url(model, router_base), "hf-router", rewritten_retired_host=True)
    if _same_base(endpoint, router_base):
        return HfRoute(router_url(model, router_base), "hf-router")
    if _is_router_mirror(parts.path):
        # A gateway or mirror serving the router's paths (and the local test server) gets its URL rule.
        return HfRoute(router_url(model, _router_base_of(endpoint)), "hf-router")
    router = urlsplit(router_base)
    if parts.netloc.lower() == router.netloc.lower() and parts.path.rstrip("/").endswith(FEATURE_EXTRACTION):
        return HfRoute(endpoint.rstrip("/"), "hf-router")
    return HfRoute(None, None, probe_base=endpoint.rstrip("/"))


def _same_base(endpoint: str, router_base: str) -> bool:
    def norm(url: str) -> str:
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        path = path.removesuffix("/models")
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"

    return norm(endpoint) == norm(router_base)


def _is_router_mirror(path: str) -> bool:
    trimmed = path.rstrip("/").removesuffix("/models")
    return trimmed.endswith("/" + HF_INFERENCE_PROVIDER)


def _router_base_of(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/").removesuffix("/models")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _looks_like_tei(body: Any) -> bool:
    return isinstance(body, dict) and "model_id" in body and (
        "max_client_batch_size" in body or "model_type" in body or "max_input_length" in body)


class HuggingFaceConnector(HttpConnector):
    """Adapter for the router, TEI and raw Inference Endpoints (see module docstring)."""

    connector = "HuggingFace"
    vendor = "Hugging Face"

    def __init__(self, settings: HuggingFaceSettings, *, api_base: str | None = None) -> None:
        if not settings.model or not settings.model.strip():
            raise AiConfigurationError("HuggingFaceSettings.Model is required")
        self.model = settings.model.strip()
        self.max_batch_size = HF_MAX_BATCH_SIZE
        self._api_key = settings.api_key or ""
        router_base = join_url(api_base, HF_INFERENCE_PROVIDER) if api_base else HF_ROUTER_BASE
        self._route = resolve_url(settings.endpoint, self.model, router_base=router_base)
        if self._route.rewritten_retired_host:
            logger.warning("Hugging Face endpoint %s is retired; using %s",
                           settings.endpoint, self._route.url)
        self._url = self._route.url
        self.protocol = self._route.protocol

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

    def endpoint_url(self) -> str | None:
        return self._url

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def prepare(self, send: Send) -> None:
        if self._url is not None or self._route.probe_base is None:
            return
        base = self._route.probe_base
        info = await send(ProviderRequest("GET", join_url(base, "info"), self._headers()))
        if info.ok and _looks_like_tei(info.body):
            self._url, self.protocol = join_url(base, "embed"), "tei"
            limit = info.body.get("max_client_batch_size")
            if isinstance(limit, int) and limit > 0:
                self.max_batch_size = min(self.max_batch_size, limit)
            return
        if info.status in (401, 403, 429) or info.status >= 500:
            # The endpoint exists but cannot answer now (auth, warming up): that is this
            # attempt's failure, and the next attempt probes again.
            raise self.classify(info).error
        self._url, self.protocol = base, "hf-endpoint-raw"

    def build_request(self, texts: Sequence[str]) -> ProviderRequest:
        assert self._url is not None, "prepare() resolves the URL first"
        body: dict[str, Any] = {"inputs": list(texts)}
        if self.protocol != "hf-endpoint-raw":
            # Spec defaults are normalize=true, truncate=false: without truncation one long chunk
            # fails the whole batch with a 422.
            body.update(normalize=True, truncate=True)
        return ProviderRequest("POST", self._url, self._headers(), json=body)

    def parse_response(self, body: Any, count: int) -> list[list[float]]:
        value = body.get("embeddings") if isinstance(body, dict) else body
        if value is None:
            raise AiResponseShapeError(
                f"Hugging Face answered {describe(body)}; expected embeddings for {count} inputs")
        depth = _depth(value)
        if depth == 4 and len(value) == 1:
            value, depth = value[0], 3
        elif depth == 4 and all(isinstance(item, list) and len(item) == 1 for item in value):
            value, depth = [item[0] for item in value], 3
        if depth == 1 and count == 1:
            return as_vectors([value], 1, "the Hugging Face answer")
        if depth == 2 and len(value) == count:
            return as_vectors(value, count, "the Hugging Face answer")
        if depth == 2 and count == 1:
            return [_mean_pool(value)]  # token-level output for a single input
        if depth == 3 and len(value) == count:
            return [_mean_pool(tokens) for tokens in value]
        raise AiResponseShapeError(
            f"Hugging Face answered {describe(value)} for {count} inputs; expected one vector per "
            "input (2-D), token vectors per input (3-D) or {\"embeddings\": …}")

    def usage(self, response: ProviderResponse) -> int | None:
        """TEI's ``x-compute-tokens`` header; the router reports nothing."""
        tokens = response.headers.get("x-compute-tokens")
        return int(tokens) if tokens is not None and tokens.isdigit() else None

    def classify(self, response: ProviderResponse) -> Failure:
        body = response.body if isinstance(response.body, dict) else {}
        detail = error_text(response)
        where = f"Hugging Face {response.url} answered {response.status}"
        error_type = str(body.get("error_type") or "").lower()
        if response.status == 503 and isinstance(body.get("estimated_time"), (int, float)):
            wait = float(body["estimated_time"])
            return Failure(AiModelLoadingError(f"{where}: the model is loading (about {wait:.0f}s)",
                                               provider_status=503, retry_after=wait), retry_after=wait)
        if response.status == 410:
            return Failure(AiEndpointRetiredError(
                f"{where}: the host {RETIRED_HOST} is retired; use "
                f"{router_url(self.model)} or a TEI/Inference Endpoint URL", provider_status=410))
        if response.status == 404:
            return Failure(AiModelNotFoundError(
                f"{where}: {detail or 'Not Found'}. The model '{self.model}' is not served there: for the "
                "router, check 'Inference Providers' on the model page; for an endpoint, check the URL",
                provider_status=404))
        if response.status in (401, 403) or "token seems invalid" in detail.lower():
            return Failure(AiAuthenticationError(
                f"{where}: {detail or 'unauthorized'}. Check the API key (a token with the "
                "'Inference Providers' permission for the router)", provider_status=response.status))
        if response.status == 429 or error_type == "overloaded":
            failure = classify_status(self.vendor, response, detail)
            return Failure(AiRateLimitError(failure.error.message, retry_after=failure.retry_after),
                           retry_after=failure.retry_after)
        if response.status in (413, 422) and _BATCH_REFUSED.search(detail):
            # TEI: 422 "batch size 64 > maximum allowed batch size 32"; the pipeline resends smaller.
            failure = classify_status(self.vendor, response, detail)
            match = _BATCH_LIMIT.search(detail)
            return Failure(failure.error, batch_too_large=True,
                           batch_limit=int(match.group(1)) if match else None)
        return classify_status(self.vendor, response, detail)


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth if isinstance(value, (int, float)) else -1


def _mean_pool(tokens: Any) -> list[float]:
    """Mean of token vectors, L2-normalised (the request asked for normalized output, which a
    token-level model cannot apply)."""
    try:
        matrix = np.asarray(tokens, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AiResponseShapeError("Hugging Face token vectors are ragged or not numeric") from exc
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise AiResponseShapeError(f"Hugging Face token vectors have shape {matrix.shape}, expected 2-D")
    pooled = matrix.mean(axis=0)
    norm = float(np.linalg.norm(pooled))
    return [float(x) for x in (pooled / norm if norm > 0 else pooled)]
