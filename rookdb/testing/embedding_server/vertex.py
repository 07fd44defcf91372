"""Vertex AI: ``:predict`` on a publisher model, with OAuth access tokens from a service-account JWT.

The server plays Google's token endpoint too (``/token``): `create_service_account` makes a key file
whose ``token_uri`` points here and whose public key is trusted, so clients sign real RS256
assertions and exchange them for short-lived tokens.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._flow import Flow, bearer
from rookdb.testing.embedding_server._state import State
from rookdb.testing.embedding_server.google import Google, google_error

__all__ = ["Vertex", "create_service_account", "routes"]


class Vertex(Google):
    def unauthorized(self, key: str | None) -> Response:
        return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")


_VERTEX = Vertex()


def create_service_account(state: State, token_uri: str, *, project_id: str, client_email: str) -> str:
    """A service-account key file for ``token_uri``; its public key is trusted by ``state``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with state.lock:
        state.public_keys[client_email] = key.public_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({
        "type": "service_account", "project_id": project_id, "private_key_id": secrets.token_hex(8),
        "private_key": pem, "client_email": client_email, "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
    })


def _verify_assertion(state: State, assertion: str, token_uri: str) -> str | None:
    """None if ``assertion`` is an RS256 JWT signed by a registered key, else the reason."""
    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        header, claims = json.loads(decode(header_b64)), json.loads(decode(claims_b64))
        signature = decode(signature_b64)
    except (ValueError, TypeError):
        return "Invalid JWT."
    with state.lock:
        key = state.public_keys.get(str(claims.get("iss")))
    if header.get("alg") != "RS256" or key is None:
        return "Invalid JWT: unknown issuer or algorithm."
    try:
        key.verify(signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "Invalid JWT Signature."
    if claims.get("aud") != token_uri:
        return "Invalid JWT: audience does not match the token URI."
    if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
        return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
    return None


def _texts(body: Any) -> list[str] | None:
    try:
        return [str(item["content"]) for item in body["instances"]]
    except (KeyError, TypeError):
        return None


def routes(flow: Flow) -> list[Route]:
    state = flow.state

    async def token(request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, which rookdb does not ship.
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        state.record("vertex-token", request, form, 0)
        failure = _verify_assertion(state, str(form.get("assertion", "")), str(request.url))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            failure = "unsupported_grant_type"
        if failure is not None:
            return JSONResponse({"error": "invalid_grant", "error_description": failure}, status_code=400)
        issued = "ya29.test-" + secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[issued] = time.monotonic() + state.token_lifetime
        return JSONResponse({"access_token": issued, "expires_in": state.token_lifetime, "token_type": "Bearer"})

    def answer(body: Any, vectors: list[list[float]], texts: list[str]) -> Any:
        return {"predictions": [
            {"embeddings": {"values": values, "statistics": {
                "truncated": False, "token_count": flow.model.count_tokens(text)}}}
            for values, text in zip(vectors, texts, strict=True)]}

    async def predict(request: Request) -> Response:
        name, _, action = request.path_params["model_action"].partition(":")
        if action != "predict":
            return google_error(404, "NOT_FOUND", f"Method {action} not found.")
        presented = bearer(request)
        with state.lock:
            valid = presented is not None and state.tokens.get(presented, 0.0) > time.monotonic()
        return await flow.embed(request, "vertex-predict", _VERTEX, name, _texts, presented, answer,
                                authorized=valid)

    return [
        Route("/token", token, methods=["POST"]),
        Route("/{version}/projects/{project}/locations/{location}/publishers/google/models/{model_action}",
              predict, methods=["POST"]),
    ]
