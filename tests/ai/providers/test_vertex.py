"""Vertex AI: service-account JWT → access token (cached) → ``:predict``, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from rookdb.ai.connection_strings import VertexSettings
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.providers.pipeline import HttpEmbeddingProvider
from rookdb.ai.providers.vertex import TOKEN_REFRESH_MARGIN, ServiceAccount, VertexConnector, sign_jwt
from rookdb.errors import AiAuthenticationError, AiConfigurationError, AiModelNotFoundError
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import options, run_connector, usage_of


@pytest.fixture
def credentials(srv: EmbeddingServer) -> str:
    return srv.create_service_account(project_id="proj-7")


def vertex(server: EmbeddingServer, credentials: str, **changes: object) -> VertexConnector:
    values: dict[str, object] = {"model": "text-embedding-005", "google_credentials_json": credentials,
                                 "location": "us-central1"}
    values.update(changes)
    return VertexConnector(VertexSettings(**values), api_base=server.url)  # type: ignore[arg-type]


def test_token_then_predict(srv: EmbeddingServer, credentials: str) -> None:
    vectors, provider = run_connector(vertex(srv, credentials), ["a", "b"], opts=options(srv))
    assert len(vectors) == 2 and len(vectors[0]) == 384
    token, predict = srv.requests()
    assert (token.route, token.path) == ("vertex-token", "/token")
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert predict.route == "vertex-predict"
    assert predict.path == ("/v1beta1/projects/proj-7/locations/us-central1/publishers/google/models/"
                            "text-embedding-005:predict")
    assert predict.headers["authorization"].startswith("Bearer ya29.test-")
    assert predict.body == {"instances": [{"content": "a"}, {"content": "b"}]}
    assert (provider.connector, provider.detected_protocol) == ("Vertex", "vertex-ai")


def test_usage_is_the_sum_of_the_predictions_token_counts(srv: EmbeddingServer, credentials: str) -> None:
    texts = ["first", "second text"]
    embedded = usage_of(vertex(srv, credentials), texts, options(srv))
    assert embedded.usage.tokens == sum(get_embedded_model().count_tokens(text) for text in texts)
    assert (embedded.usage.requests, embedded.usage.estimated_tokens) == (1, 0)


def test_v1_path_and_public_host() -> None:
    from rookdb.testing.embedding_server import EmbeddingServer as _  # noqa: F401  (server not needed)

    sa = json.dumps({"type": "service_account", "project_id": "p", "client_email": "e@p.iam",
                     "private_key": _pem(), "token_uri": "https://oauth2.googleapis.com/token"})
    connector = VertexConnector(VertexSettings(model="text-embedding-005", google_credentials_json=sa,
                                               location="europe-west4", ai_version="V1"))
    assert connector.endpoint_url() == ("https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/"
                                        "europe-west4/publishers/google/models/text-embedding-005:predict")


def test_jwt_claims_and_signature(srv: EmbeddingServer, credentials: str) -> None:
    account = ServiceAccount.from_json(credentials)
    jwt = sign_jwt(account, now=1_700_000_000)
    header_b64, claims_b64, signature_b64 = jwt.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, claims = json.loads(decode(header_b64)), json.loads(decode(claims_b64))
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"]
    assert claims == {"iss": account.client_email, "scope": "https://www.googleapis.com/auth/cloud-platform",
                      "aud": f"{srv.url}/token", "iat": 1_700_000_000, "exp": 1_700_003_600}
    account.private_key.public_key().verify(decode(signature_b64), f"{header_b64}.{claims_b64}".encode(),
                                            padding.PKCS1v15(), hashes.SHA256())


def test_token_is_cached_and_refreshed_before_expiry(srv: EmbeddingServer, credentials: str) -> None:
    now = [0.0]
    connector = VertexConnector(VertexSettings(model="text-embedding-005", google_credentials_json=credentials,
                                               location="us-central1"), api_base=srv.url, clock=lambda: now[0])

    async def go() -> None:
        async with HttpEmbeddingProvider(connector, options=options(srv)) as provider:
            await provider.embed(["a"])
            now[0] = 3600 - TOKEN_REFRESH_MARGIN - 1
            await provider.embed(["b"])
            now[0] = 3600 - TOKEN_REFRESH_MARGIN + 1
            await provider.embed(["c"])

    asyncio.run(go())
    assert [r.route for r in srv.requests()] == [
        "vertex-token", "vertex-predict", "vertex-predict", "vertex-token", "vertex-predict"]


def test_revoked_token_is_replaced(srv: EmbeddingServer, credentials: str) -> None:
    async def go() -> None:
        async with HttpEmbeddingProvider(vertex(srv, credentials), options=options(srv)) as provider:
            await provider.embed(["a"])
            srv.expire_tokens()
            await provider.embed(["b"])

    asyncio.run(go())
    assert [r.route for r in srv.requests()] == [
        "vertex-token", "vertex-predict", "vertex-predict", "vertex-token", "vertex-predict"]


def test_untrusted_key_is_an_authentication_failure(srv: EmbeddingServer) -> None:
    other = json.loads(srv.create_service_account(client_email="someone@else.iam"))
    other["private_key"] = _pem()  # signed with a key the token endpoint does not know
    with pytest.raises(AiAuthenticationError, match="Invalid JWT Signature"):
        run_connector(vertex(srv, json.dumps(other)), ["a"], opts=options(srv))


def test_unknown_model(srv: EmbeddingServer, credentials: str) -> None:
    with pytest.raises(AiModelNotFoundError, match="not found"):
        run_connector(vertex(srv, credentials, model="textembedding-nope"), ["a"], opts=options(srv))


@pytest.mark.parametrize(("text", "fragment"), [
    ("not json", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ('{"type": "authorized_user"}', "expected 'service_account'"),
    ('{"type": "service_account", "project_id": "p"}', "lacks client_email, private_key"),
    ('{"project_id": "p", "client_email": "e", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAAA"}',
     "not a PEM private key"),
])
def test_bad_credentials_are_configuration_errors(text: str, fragment: str) -> None:
    with pytest.raises(AiConfigurationError, match=fragment) as caught:
        ServiceAccount.from_json(text)
    assert "AAAA" not in caught.value.message


def test_location_is_required() -> None:
    with pytest.raises(AiConfigurationError, match="Location"):
        VertexConnector(VertexSettings(model="m", google_credentials_json="{}", location=""))


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
