"""Vertex AI text embeddings, authenticated as a service account.

The service-account JSON holds an RSA key. rookdb signs an RS256 JWT with it, trades the JWT for
an OAuth access token at the account's ``token_uri`` (RFC 7523 jwt-bearer grant), caches the
token until shortly before it expires, and POSTs ``{"instances": [{"content": …}]}`` to the
publisher model's ``:predict``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from rookdb.ai.connection_strings import VertexSettings
from rookdb.ai.providers.base import (
    Failure,
    HttpConnector,
    ProviderRequest,
    ProviderResponse,
    Send,
    as_vectors,
    describe,
    error_text,
    join_url,
    require_http_url,
)
from rookdb.ai.providers.google import GOOGLE_API_VERSIONS, classify_google
from rookdb.errors import (
    AiAuthenticationError,
    AiConfigurationError,
    AiResponseShapeError,
    AiUnavailableError,
)

__all__ = [
    "DEFAULT_TOKEN_URI",
    "JWT_BEARER_GRANT",
    "VERTEX_API_VERSIONS",
    "ServiceAccount",
    "VertexConnector",
    "sign_jwt",
]

DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Google issues assertions and tokens for at most one hour.
ASSERTION_LIFETIME = 3600
# Refresh this long before expiry, so a token never expires between check and use.
TOKEN_REFRESH_MARGIN = 300.0
# text-embedding-004/005 accept up to 250 instances per predict call.
VERTEX_MAX_BATCH_SIZE = 250
VERTEX_API_VERSIONS = {"V1": "v1", "V1_Beta": "v1beta1"}
_DEFAULT_VERSION = "V1_Beta"
_OAUTH_AUTH_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
_REQUIRED_FIELDS = ("client_email", "private_key", "project_id")

assert set(VERTEX_API_VERSIONS) == set(GOOGLE_API_VERSIONS)


@dataclass(frozen=True)
class ServiceAccount:
    """The fields of a Google service-account key file that signing needs."""

    client_email: str
    private_key: rsa.RSAPrivateKey
    private_key_id: str | None
    project_id: str
    token_uri: str

    @classmethod
    def from_json(cls, text: str) -> ServiceAccount:
        """Parse the key file; errors name the field, never the key material."""
        where = "VertexSettings.GoogleCredentialsJson"
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise AiConfigurationError(f"{where} is not valid JSON") from exc
        if not isinstance(data, dict):
            raise AiConfigurationError(f"{where} must be a JSON object (a service-account key file)")
        if data.get("type", "service_account") != "service_account":
            raise AiConfigurationError(f"{where} has type {data.get('type')!r}, expected 'service_account'")
        missing = [name for name in _REQUIRED_FIELDS if not isinstance(data.get(name), str) or not data[name]]
        if missing:
            raise AiConfigurationError(f"{where} lacks {', '.join(missing)}")
        try:
            key = serialization.load_pem_private_key(data["private_key"].encode(), password=None)
        except (TypeError, ValueError) as exc:
            raise AiConfigurationError(f"{where}: private_key is not a PEM private key") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AiConfigurationError(f"{where}: private_key must be an RSA key")
        token_uri = require_http_url(data.get("token_uri") or DEFAULT_TOKEN_URI, f"{where}.token_uri")
        key_id = data.get("private_key_id")
        return cls(data["client_email"], key, key_id if isinstance(key_id, str) else None,
                   data["project_id"], token_uri)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign_jwt(account: ServiceAccount, *, now: float, scope: str = TOKEN_SCOPE) -> str:
    """The RS256-signed assertion a service account presents to its ``token_uri``."""
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    claims = {
        "iss": account.client_email,
        "scope": scope,
        "aud": account.token_uri,
        "iat": int(now),
        "exp": int(now) + ASSERTION_LIFETIME,
    }
    signing_input = f"{_b64url(orjson.dumps(header))}.{_b64url(orjson.dumps(claims))}"
    signature = account.private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


class VertexConnector(HttpConnector):
    connector = "Vertex"
    vendor = "Vertex AI"
    protocol = "vertex-ai"
    max_batch_size = VERTEX_MAX_BATCH_SIZE

    def __init__(
        self,
        settings: VertexSettings,
        *,
        api_base: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.model or not settings.model.strip():
            raise AiConfigurationError("VertexSettings.Model is required")
        location = (settings.location or "").strip()
        if not location or "/" in location:
            raise AiConfigurationError("VertexSettings.Location must be a region such as us-central1")
        version = settings.ai_version or _DEFAULT_VERSION
        if version not in VERTEX_API_VERSIONS:
            raise AiConfigurationError(f"VertexSettings.AiVersion must be V1 or V1_Beta, got {version!r}")
        self.model = settings.model.strip()
        self._account = ServiceAccount.from_json(settings.google_credentials_json)
        if api_base:
            base = require_http_url(api_base, "api_base")
        elif location == "global":
            base = "https://aiplatform.googleapis.com"
        else:
            base = f"https://{location}-aiplatform.googleapis.com"
        self._url = join_url(
            base, VERTEX_API_VERSIONS[version], "projects", self._account.project_id, "locations", location,
            "publishers", "google", "models", f"{self.model}:predict")
        self._clock = clock
        self._wall_clock = wall_clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_used = False

    def secrets(self) -> tuple[str, ...]:
        return (self._token,) if self._token else ()

    def endpoint_url(self) -> str:
        return self._url

    async def prepare(self, send: Send) -> None:
        if self._token is not None and self._clock() < self._token_expires - TOKEN_REFRESH_MARGIN:
            return
        started = self._clock()
        assertion = sign_jwt(self._account, now=self._wall_clock())
        response = await send(ProviderRequest(
            "POST", self._account.token_uri, {"Accept": "application/json"},
            form={"grant_type": JWT_BEARER_GRANT, "assertion": assertion}))
        if not response.ok:
            raise self._token_failure(response).error
        body = response.body if isinstance(response.body, dict) else {}
        token, lifetime = body.get("access_token"), body.get("expires_in", ASSERTION_LIFETIME)
        if not isinstance(token, str) or not token or not isinstance(lifetime, (int, float)):
            raise AiResponseShapeError(
                f"Vertex AI token endpoint {self._account.token_uri} answered {describe(response.body)}; "
                "expected {\"access_token\", \"expires_in\"}")
        self._token, self._token_expires, self._token_used = token, started + float(lifetime), False

    def _token_failure(self, response: ProviderResponse) -> Failure:
        detail = error_text(response)
        where = f"Vertex AI token endpoint {response.url} answered {response.status}"
        error = response.body.get("error") if isinstance(response.body, dict) else None
        if response.status in (400, 401, 403) or error in _OAUTH_AUTH_ERRORS:
            return Failure(AiAuthenticationError(
                f"{where}: {detail}. Check the service-account credentials", provider_status=response.status))
        return classify_google("Vertex AI token endpoint", response)

    def build_request(self, texts: Sequence[str]) -> ProviderRequest:
        assert self._token is not None, "prepare() fetches the access token first"
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self._token}"}
        return ProviderRequest("POST", self._url, headers,
                               json={"instances": [{"content": text} for text in texts]})

    def parse_response(self, body: Any, count: int) -> list[list[float]]:
        self._token_used = True
        predictions = body.get("predictions") if isinstance(body, dict) else None
        values: list[Any] = []
        for item in predictions if isinstance(predictions, list) else [None]:
            embeddings = item.get("embeddings") if isinstance(item, dict) else None
            if not isinstance(embeddings, dict) or "values" not in embeddings:
                raise AiResponseShapeError(
                    f"Vertex AI answered {describe(body)}; expected "
                    "{\"predictions\": [{\"embeddings\": {\"values\": [...]}}]}")
            values.append(embeddings["values"])
        return as_vectors(values, count, "Vertex AI predictions[].embeddings.values")

    def usage(self, response: ProviderResponse) -> int | None:
        """The sum of ``predictions[].embeddings.statistics.token_count``."""
        predictions = response.body.get("predictions") if isinstance(response.body, dict) else None
        counts = [item.get("embeddings", {}).get("statistics", {}).get("token_count")
                  for item in predictions or [] if isinstance(item, dict)]
        if not counts or not all(isinstance(count, int) for count in counts):
            return None
        return int(sum(counts))

    def classify(self, response: ProviderResponse) -> Failure:
        if response.status == 401 and self._token_used:
            # A token that worked before was revoked or expired early: fetch a new one and retry.
            self._token, self._token_used = None, False
            return Failure(AiUnavailableError(
                f"Vertex AI {response.url} refused a cached access token; fetching a new one",
                provider_status=401), retry_after=0.0)
        if response.status == 401:
            self._token = None
        return classify_google(self.vendor, response)
