"""The provider seam: what callers use (``EmbeddingProvider``) and what a vendor adapter writes
(``HttpConnector``).

A connector adapts one vendor's published contract: it builds the HTTP request, parses the
answer and classifies failures (retryable? how long to wait? batch too large?). It never sends
anything itself; the HTTP client, retries, timeouts and batch splitting live once, in
``rookdb.ai.providers.pipeline``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from rookdb.ai.tokens import count_tokens
from rookdb.errors import (
    AiAuthenticationError,
    AiBadRequestError,
    AiConfigurationError,
    AiEndpointRetiredError,
    AiError,
    AiModelLoadingError,
    AiModelNotFoundError,
    AiRateLimitError,
    AiResponseShapeError,
    AiUnavailableError,
)

__all__ = [
    "Embedded",
    "EmbeddingProvider",
    "Failure",
    "HttpConnector",
    "ProviderRequest",
    "ProviderResponse",
    "Send",
    "Usage",
    "as_vectors",
    "classify_status",
    "describe",
    "error_text",
    "join_url",
    "require_http_url",
    "retry_after_seconds",
]


@dataclass(frozen=True)
class Usage:
    """What embedding some texts cost: the requests sent (retries included; model runs for the
    embedded model) and the input tokens, as the provider reported them or as counted
    (``estimated_tokens`` of them estimated as length / 4, see ``rookdb.ai.tokens``)."""

    requests: int = 0
    tokens: int = 0
    estimated_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.requests + other.requests, self.tokens + other.tokens,
                     self.estimated_tokens + other.estimated_tokens)

    @classmethod
    def counted(cls, model: str | None, texts: Sequence[str], requests: int) -> Usage:
        """``requests`` whose tokens rookdb counts itself (the provider did not report them)."""
        count = count_tokens(model, texts)
        return cls(requests, count.tokens, count.tokens if count.estimated else 0)


@dataclass(frozen=True)
class Embedded:
    """Vectors, one per text in input order, and what they cost."""

    vectors: list[list[float]]
    usage: Usage


class EmbeddingProvider(ABC):
    """Turns texts into vectors through one configured provider (HTTP vendor or embedded model)."""

    connector: str
    """RavenDB connector name: ``HuggingFace``, ``OpenAi``, ``Embedded`` …"""
    model: str

    @property
    def dimensions(self) -> int | None:
        """Vector size when known: configured, or learned from the first answer."""
        return None

    @property
    def detected_protocol(self) -> str | None:
        """Wire protocol actually spoken (``hf-router``, ``tei``, ``openai`` …); None until resolved."""
        return None

    @abstractmethod
    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in input order. Raises an ``AiError`` subclass on failure."""

    async def embed_with_usage(self, texts: list[str]) -> Embedded:
        """``embed`` and what it cost; this default counts one request and the texts' tokens."""
        vectors = await self.embed(texts)
        return Embedded(vectors, Usage.counted(self.model, texts, 1 if texts else 0))

    def resolved_url(self) -> str | None:
        """The URL the provider posts to (never containing a secret), or None for local models."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release owned resources (the HTTP client when the provider created it)."""

    async def __aenter__(self) -> EmbeddingProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class ProviderRequest:
    """One HTTP request as a connector describes it; ``json`` or ``form`` is the body."""

    method: Literal["GET", "POST"]
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ProviderResponse:
    """A provider's answer: status, headers (case-insensitive mapping) and the JSON body if any."""

    status: int
    headers: Mapping[str, str]
    body: Any
    """Parsed JSON, or None when the body was empty or not JSON (then see ``text``)."""
    text: str
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Failure:
    """A classified failure: the error to raise, when to retry, and batch-size hints."""

    error: AiError
    retry_after: float | None = None
    batch_too_large: bool = False
    batch_limit: int | None = None
    """The largest batch the provider said it accepts, when it said so."""

    @property
    def retryable(self) -> bool:
        return self.error.retryable

    @property
    def slow_down(self) -> bool:
        """The provider asked to wait (429, a loading model): a signal to pace requests, not a failure."""
        return isinstance(self.error, AiRateLimitError | AiModelLoadingError)

    @property
    def congestion(self) -> bool:
        """The provider refused for load (429): send less at once."""
        return isinstance(self.error, AiRateLimitError)


Send = Callable[[ProviderRequest], Awaitable[ProviderResponse]]
"""Sends one request once (no retries); transport failures arrive as ``AiUnavailableError``."""


class HttpConnector(ABC):
    """Adapter for one vendor's embeddings API. Subclasses set the class attributes and build
    requests; the default ``classify`` covers the common HTTP status semantics."""

    connector: ClassVar[str]
    vendor: ClassVar[str]
    """Human name used in messages (``Hugging Face``)."""
    max_batch_size: int
    """Most inputs the vendor accepts in one request (its documented limit; a connector may
    lower it once the server tells, e.g. TEI's ``/info``)."""

    model: str
    dimensions: int | None = None
    protocol: str | None = None

    async def prepare(self, send: Send) -> None:  # noqa: B027 - optional hook, no-op by default
        """Resolve what must be known before a request (URL probe, access token). Called before
        every attempt; implementations cache and return quickly once resolved."""

    @abstractmethod
    def build_request(self, texts: Sequence[str]) -> ProviderRequest:
        """The request embedding ``texts`` (already within ``max_batch_size``)."""

    @abstractmethod
    def parse_response(self, body: Any, count: int) -> list[list[float]]:
        """Vectors from a 2xx JSON body; raise ``AiResponseShapeError`` on anything else."""

    def endpoint_url(self) -> str | None:
        """The URL embeddings are posted to, without secrets (None until resolved)."""
        return None

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message (API keys, tokens)."""
        return ()

    def classify(self, response: ProviderResponse) -> Failure:
        """Map a non-2xx answer to a ``Failure``; override to read vendor-specific hints."""
        return classify_status(self.vendor, response, error_text(response))

    def usage(self, response: ProviderResponse) -> int | None:
        """The input tokens a 2xx answer says the request used; None when the vendor does not say."""
        return None


def classify_status(vendor: str, response: ProviderResponse, detail: str) -> Failure:
    """The shared status → error table (practice 9: vendors override only what differs)."""
    status = response.status
    where = f"{vendor} {response.url} answered {status}"
    text = f"{where}: {detail}" if detail else where
    retry_after = retry_after_seconds(response.headers)
    if status in (401, 403):
        return Failure(AiAuthenticationError(f"{text}. Check the API key.", provider_status=status))
    if status == 404:
        return Failure(AiModelNotFoundError(f"{text}. Check the model name and endpoint URL.",
                                            provider_status=status))
    if status == 410:
        return Failure(AiEndpointRetiredError(f"{text}. This endpoint is retired.", provider_status=status))
    if status == 429:
        return Failure(AiRateLimitError(text, retry_after=retry_after), retry_after=retry_after)
    if status == 408 or status == 424 or status >= 500:
        return Failure(AiUnavailableError(text, provider_status=status, retry_after=retry_after),
                       retry_after=retry_after)
    if status == 413:
        return Failure(AiBadRequestError(f"{text}. The request body is too large.", provider_status=status))
    return Failure(AiBadRequestError(text, provider_status=status))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` (OpenAI/Azure) or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_MAX_DETAIL = 300


def error_text(response: ProviderResponse) -> str:
    """The provider's own error message: ``error`` (string or ``{message}``), ``message``,
    ``detail``, or the start of a plain-text body. Shortened; never the request."""
    body = response.body
    found: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            found = error.get("message") or error.get("code")
        elif error:
            found = error
            if body.get("error_description"):  # OAuth: {"error": code, "error_description": text}
                found = f"{error}: {body['error_description']}"
        found = found or body.get("message") or body.get("detail")
    elif isinstance(body, str):
        found = body
    elif body is None:
        found = response.text.strip()
    text = " ".join(str(found).split()) if found else ""
    return text[:_MAX_DETAIL] + ("…" if len(text) > _MAX_DETAIL else "")


def as_vectors(value: Any, count: int, what: str) -> list[list[float]]:
    """Validate ``count`` equal-length numeric vectors; ``what`` names the field for messages."""
    if not isinstance(value, list):
        raise AiResponseShapeError(f"Expected {what} to be a list of {count} vectors, got {describe(value)}")
    if len(value) != count:
        raise AiResponseShapeError(f"Expected {count} vectors in {what}, got {len(value)}")
    if _all_float_rows(value):
        return value
    width: int | None = None
    for row in value:
        if not isinstance(row, list) or not row or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in row
        ):
            raise AiResponseShapeError(f"Expected {what} to hold numeric vectors, got {describe(row)}")
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise AiResponseShapeError(f"Vectors in {what} have different lengths ({width} and {len(row)})")
    return [[float(x) for x in row] for row in value]


def _all_float_rows(rows: list[Any]) -> bool:
    """True when ``rows`` are non-empty lists of equal length holding only floats, as providers send them:
    checked by type in C (``map``), where checking each number in Python took 20 ms of the event loop's
    time for a batch of 128 vectors of 256 dimensions."""
    width: int | None = None
    kinds: set[type] = set()
    for row in rows:
        if type(row) is not list or not row or (width is not None and len(row) != width):
            return False
        width = len(row)
        kinds.update(map(type, row))
    return kinds <= {float}


def describe(value: Any) -> str:
    """A shape-only description of a JSON value (never its content: it may echo user data)."""
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(k) for k in value)[:8])
        return f"an object with keys [{keys}]"
    if isinstance(value, list):
        depth, node = 0, value
        while isinstance(node, list) and node:
            depth, node = depth + 1, node[0]
        inner = type(node).__name__ if not isinstance(node, list) else "empty list"
        return f"a list of depth {depth} ({len(value)} items, innermost {inner})"
    return f"a JSON {type(value).__name__}"


def join_url(base: str, *parts: str) -> str:
    """``base`` + ``/part`` segments with exactly one slash between them."""
    url = base.rstrip("/")
    for part in parts:
        url += "/" + part.strip("/")
    return url


def require_http_url(value: str | None, field_name: str) -> str:
    """``value`` if it is an absolute http(s) URL, else ``AiConfigurationError`` naming the field."""
    if not value or not value.strip():
        raise AiConfigurationError(f"{field_name} is required")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AiConfigurationError(f"{field_name} must be an absolute http(s) URL, got {value.strip()!r}")
    return value.strip()
