"""A local embedding server that speaks each provider's published protocol, for tests and benchmarks.

It answers with real vectors from the embedded model and imitates each vendor's authentication,
unknown-model and error bodies, so providers are proved against the contract rather than against a
stub that merely agrees with them. Faults are injected at run time, and every request is counted
and recorded::

    with EmbeddingServer(api_key="hf_test") as srv:
        srv.add_fault("loading", estimated_time=0.05)
        ...  # point a connection string at srv.url
        assert srv.stats()["hf-router"].requests == 2

or, from another process: ``python -m rookdb.testing.embedding_server --port 8090`` plus the
``/_control`` API (``GET /_control/stats``, ``POST``/``DELETE /_control/faults``,
``POST /_control/reset``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import parse_qs

import numpy as np
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rookdb.ai.embedded_model import EmbeddedModel, get_embedded_model

__all__ = ["DEFAULT_MODELS", "EmbeddingServer", "FaultKind", "RecordedRequest", "RouteStats", "create_app"]

DEFAULT_MODELS = (
    "sentence-transformers/all-MiniLM-L6-v2",
    "text-embedding-3-small",
    "mistral-embed",
    "all-minilm",
    "text-embedding-004",
    "text-embedding-005",
)
FaultKind = Literal["unauthorized", "model_not_found", "loading", "rate_limit", "batch_limit", "retired",
                    "slow", "drop", "wrong_shape", "token_level", "server_error"]
# max_client_batch_size TEI reports when no batch_limit fault is set (TEI's default).
TEI_DEFAULT_MAX_BATCH = 32
ACCESS_TOKEN_LIFETIME = 3600
_GRACEFUL_SHUTDOWN_SECONDS = 1


@dataclass
class RouteStats:
    requests: int = 0
    inputs: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int | None
    routes: frozenset[str] | None
    params: dict[str, Any]


@dataclass
class _State:
    api_key: str | None
    models: set[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[_Fault] = field(default_factory=list)
    stats: dict[str, RouteStats] = field(default_factory=dict)
    log: list[RecordedRequest] = field(default_factory=list)
    public_keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    token_lifetime: int = ACCESS_TOKEN_LIFETIME

    def add_fault(self, kind: str, times: int | None, routes: Iterable[str] | None, params: dict[str, Any]) -> None:
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault {kind!r}; expected one of {get_args(FaultKind)}")
        scope = None if routes is None else frozenset(routes)
        with self.lock:
            self.faults.append(_Fault(kind, times, scope, params))  # type: ignore[arg-type]

    def reset(self, *, faults_only: bool = False) -> None:
        with self.lock:
            self.faults.clear()
            if not faults_only:
                self.stats.clear()
                self.log.clear()

    def take_fault(self, route: str) -> _Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.routes is None or route in fault.routes:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, route: str, request: Request, body: Any, inputs: int) -> None:
        headers = {key.lower(): value for key, value in request.headers.items()}
        with self.lock:
            stats = self.stats.setdefault(route, RouteStats())
            stats.requests += 1
            stats.inputs += inputs
            self.log.append(RecordedRequest(route, request.method, request.url.path,
                                            dict(request.query_params), headers, body))


class _DroppedConnection(Exception):
    """Raised after a partial answer so the server aborts the connection (fault ``drop``)."""


class _DropResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
        raise _DroppedConnection


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DroppedConnection))


# ---- vendor error bodies -------------------------------------------------------------------------

Family = Literal["hf", "tei", "openai", "azure", "mistral", "ollama", "google", "vertex"]


def _google_error(code: int, status: str, message: str, reason: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com"}]
    return JSONResponse({"error": error}, status_code=code)


def _openai_error(code: int, message: str, kind: str, err_code: str | None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": err_code}},
                        status_code=code)


def _unauthorized(family: Family, key: str | None) -> Response:
    if family == "tei":
        return Response(status_code=401)  # TEI answers a bare 401
    if family == "openai":
        shown = f"{key[:3]}***{key[-2:]}" if key and len(key) > 6 else "***"
        return _openai_error(401, f"Incorrect API key provided: {shown}.", "invalid_request_error",
                             "invalid_api_key")
    if family == "azure":
        return JSONResponse({"error": {"code": "401", "message": "Access denied due to invalid subscription "
                             "key or wrong API endpoint."}}, status_code=401)
    if family == "mistral":
        return JSONResponse({"message": "Unauthorized", "request_id": uuid.uuid4().hex}, status_code=401)
    if family == "google":
        if not key:
            return _google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        return _google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                             "API_KEY_INVALID")
    if family == "vertex":
        return _google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    return JSONResponse({"error": "Invalid credentials in Authorization header"}, status_code=401)


def _not_found(family: Family, model: str) -> Response:
    if family == "openai":
        return _openai_error(404, f"The model `{model}` does not exist or you do not have access to it.",
                             "invalid_request_error", "model_not_found")
    if family == "azure":
        return JSONResponse({"error": {"code": "DeploymentNotFound", "message": "The API deployment for "
                             "this resource does not exist."}}, status_code=404)
    if family == "mistral":
        return JSONResponse({"object": "error", "message": f"Invalid model: {model}", "type": "invalid_model",
                             "param": None, "code": "1500"}, status_code=400)
    if family == "ollama":
        return JSONResponse({"error": f'model "{model}" not found, try pulling it first'}, status_code=404)
    if family in ("google", "vertex"):
        return _google_error(404, "NOT_FOUND", f"models/{model} is not found.")
    return JSONResponse({"error": f"Model {model} does not exist"}, status_code=404)


def _generic_error(
    family: Family, code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    if family in ("google", "vertex"):
        status = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(code, "INTERNAL")
        response = _google_error(code, status, message)
    elif family in ("openai", "azure", "mistral"):
        response = _openai_error(code, message, "server_error" if code >= 500 else "requests", None)
    else:
        response = JSONResponse({"error": message}, status_code=code)
    response.headers.update(headers or {})
    return response


def _fault_response(fault: _Fault, family: Family, model: str, count: int) -> Response | None:
    params = fault.params
    if fault.kind == "unauthorized":
        return _unauthorized(family, None)
    if fault.kind == "model_not_found":
        return _not_found(family, model)
    if fault.kind == "loading":
        wait = float(params.get("estimated_time", 20.0))
        if family in ("hf", "tei"):
            return JSONResponse({"error": f"Model {model} is currently loading", "estimated_time": wait},
                                status_code=503)
        return _generic_error(family, 503, "The service is currently unavailable.")
    if fault.kind == "rate_limit":
        retry_after = params.get("retry_after", 1)
        return _generic_error(family, 429, "Rate limit reached.", {"Retry-After": str(retry_after)})
    if fault.kind == "server_error":
        return _generic_error(family, int(params.get("status", 500)), "Internal server error.")
    if fault.kind == "retired":
        return JSONResponse({"error": "https://api-inference.huggingface.co is no longer supported. Please "
                             "use https://router.huggingface.co/hf-inference instead."}, status_code=410)
    if fault.kind == "batch_limit":
        limit = int(params.get("max_batch", TEI_DEFAULT_MAX_BATCH))
        if count <= limit:
            return None
        message = (f"batch size {count} > maximum allowed batch size {limit}"
                   if params.get("announce_limit", True) else "Input validation error: batch too large")
        return JSONResponse({"error": message, "error_type": "Validation"}, status_code=422)
    if fault.kind == "drop":
        return _DropResponse()
    if fault.kind == "wrong_shape":
        return JSONResponse({"result": "ok", "count": count})
    return None  # slow and token_level change how the normal answer is produced


# ---- the app -------------------------------------------------------------------------------------


def create_app(state: _State, model: EmbeddedModel) -> Starlette:
    """The ASGI app; ``EmbeddingServer`` runs it, benchmarks may mount it elsewhere."""

    async def vectors(texts: Sequence[str], dimensions: int | None = None) -> list[list[float]]:
        matrix = await run_in_threadpool(model.embed, list(texts))
        if dimensions is not None and 0 < dimensions < matrix.shape[1]:
            # Matryoshka-style shortening as OpenAI/Gemini do: truncate, then renormalise.
            matrix = matrix[:, :dimensions]
            matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix.tolist()  # type: ignore[no-any-return]

    async def read_json(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            return None

    def key_ok(presented: str | None) -> bool:
        return state.api_key is None or presented == state.api_key

    def bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return header[7:] if header.lower().startswith("bearer ") else None

    async def embed_route(
        request: Request, route: str, family: Family, model_name: str | None,
        texts_of: Callable[[Any], list[str] | None], presented_key: str | None,
        answer: Callable[[Any, list[list[float]], list[str]], Any], *, check_model: bool = True,
        authorized: bool | None = None, token_level: Callable[[list[str]], Any] | None = None,
        dimensions_of: Callable[[Any], Any] = lambda body: None,
    ) -> Response:
        """Shared flow of every embedding route: record, authenticate, inject faults, check the
        model, embed; each vendor supplies how to read the body and shape the answer."""
        body = await read_json(request)
        if model_name is None and check_model and isinstance(body, dict):
            model_name = body.get("model")
        texts = texts_of(body) if body is not None else None
        state.record(route, request, body, len(texts or []))
        if not (key_ok(presented_key) if authorized is None else authorized):
            return _unauthorized(family, presented_key)
        fault = state.take_fault(route)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(float(fault.params.get("delay", 1.0)))
            failed = _fault_response(fault, family, model_name or "", len(texts or []))
            if failed is not None:
                return failed
        if check_model and (model_name is None or model_name not in state.models):
            return _not_found(family, model_name or "")
        if texts is None:
            return _generic_error(family, 400, "Request body is not a valid embeddings request.")
        if fault is not None and fault.kind == "token_level" and token_level is not None:
            return JSONResponse(token_level(texts))
        return JSONResponse(answer(body, await vectors(texts, dimensions_of(body)), texts))

    def texts_in(field: str) -> Callable[[Any], list[str] | None]:
        def read(body: Any) -> list[str] | None:
            inputs = body.get(field) if isinstance(body, dict) else None
            if isinstance(inputs, str):
                return [inputs]
            return inputs if isinstance(inputs, list) and all(isinstance(t, str) for t in inputs) else None

        return read

    hf_texts, openai_texts = texts_in("inputs"), texts_in("input")

    def hf_tokens(texts: list[str]) -> Any:
        return [matrix.tolist() for matrix in model.token_embeddings(texts)]

    def openai_answer(body: Any, vecs: list[list[float]], texts: list[str]) -> Any:
        tokens = sum(model.count_tokens(text) for text in texts)
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vecs)]
        return {"object": "list", "data": data[::-1],  # reversed: clients must order by index
                "model": body.get("model"), "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    def plain(body: Any, vecs: list[list[float]], texts: list[str]) -> Any:
        return vecs

    def hf_model_route(route: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await embed_route(request, route, "hf", request.path_params["model"], hf_texts,
                                     bearer(request), plain, token_level=hf_tokens)

        return endpoint

    async def tei_embed(request: Request) -> Response:
        route = "tei-root" if request.url.path == "/" else "tei-embed"
        return await embed_route(request, route, "tei", None, hf_texts, bearer(request), plain,
                                 check_model=False, token_level=hf_tokens)

    async def tei_info(request: Request) -> Response:
        state.record("tei-info", request, None, 0)
        if not key_ok(bearer(request)):
            return _unauthorized("tei", bearer(request))
        limit = TEI_DEFAULT_MAX_BATCH
        with state.lock:
            for fault in state.faults:
                if fault.kind == "batch_limit" and fault.params.get("announce_limit", True):
                    limit = int(fault.params.get("max_batch", limit))
        return JSONResponse({
            "model_id": DEFAULT_MODELS[0], "model_sha": None, "model_dtype": "float32",
            "model_type": {"embedding": {"pooling": "mean"}}, "max_concurrent_requests": 512,
            "max_input_length": 256, "max_batch_tokens": 16384, "max_batch_requests": None,
            "max_client_batch_size": limit, "auto_truncate": True, "tokenization_workers": 1,
            "version": "1.9.0-rookdb-test"})

    async def tei_health(request: Request) -> Response:
        return Response(status_code=200)

    async def openai_embeddings(request: Request) -> Response:
        return await embed_route(request, "openai", "openai", None, openai_texts, bearer(request),
                                 openai_answer, dimensions_of=lambda b: b.get("dimensions"))

    async def mistral_embeddings(request: Request) -> Response:
        return await embed_route(request, "mistral", "mistral", None, openai_texts, bearer(request),
                                 openai_answer)

    async def azure_embeddings(request: Request) -> Response:
        deployment = request.path_params["deployment"]
        if not request.query_params.get("api-version"):
            return JSONResponse({"error": {"code": "404", "message": "Resource not found"}}, status_code=404)
        return await embed_route(request, "azure", "azure", deployment, openai_texts,
                                 request.headers.get("api-key"), openai_answer,
                                 dimensions_of=lambda b: b.get("dimensions"))

    async def ollama_embed(request: Request) -> Response:
        return await embed_route(request, "ollama", "ollama", None, openai_texts, None,
                                 lambda b, v, t: {"model": b.get("model"), "embeddings": v},
                                 authorized=True)  # Ollama has no authentication

    def google_texts(body: Any) -> list[str] | None:
        items = body.get("requests") if isinstance(body, dict) else None
        try:
            return [item["content"]["parts"][0]["text"] for item in items]  # type: ignore[union-attr]
        except (KeyError, IndexError, TypeError):
            return None

    def google_dimensions(body: Any) -> Any:
        return body["requests"][0].get("outputDimensionality") if body["requests"] else None

    async def google_models(request: Request) -> Response:
        name, _, action = request.path_params["model_action"].partition(":")
        if action != "batchEmbedContents":
            return _google_error(404, "NOT_FOUND", f"Method {action} not found.")
        return await embed_route(
            request, "google", "google", name, google_texts, request.headers.get("x-goog-api-key"),
            lambda b, v, t: {"embeddings": [{"values": values} for values in v]},
            dimensions_of=google_dimensions)

    async def vertex_token(request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, which rookdb does not ship.
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        state.record("vertex-token", request, form, 0)
        failure = _verify_assertion(state, str(form.get("assertion", "")), str(request.url))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            failure = "unsupported_grant_type"
        if failure is not None:
            return JSONResponse({"error": "invalid_grant", "error_description": failure}, status_code=400)
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[token] = time.monotonic() + state.token_lifetime
        return JSONResponse({"access_token": token, "expires_in": state.token_lifetime,
                             "token_type": "Bearer"})

    def vertex_texts(body: Any) -> list[str] | None:
        try:
            return [str(item["content"]) for item in body["instances"]]
        except (KeyError, TypeError):
            return None

    def vertex_answer(body: Any, vecs: list[list[float]], texts: list[str]) -> Any:
        return {"predictions": [
            {"embeddings": {"values": values, "statistics": {
                "truncated": False, "token_count": model.count_tokens(text)}}}
            for values, text in zip(vecs, texts, strict=True)]}

    async def vertex_predict(request: Request) -> Response:
        name, _, action = request.path_params["model_action"].partition(":")
        if action != "predict":
            return _google_error(404, "NOT_FOUND", f"Method {action} not found.")
        token = bearer(request)
        with state.lock:
            valid = token is not None and state.tokens.get(token, 0.0) > time.monotonic()
        return await embed_route(request, "vertex-predict", "vertex", name, vertex_texts, token,
                                 vertex_answer, authorized=valid)

    routes = [
        Route("/hf-inference/models/{model:path}/pipeline/feature-extraction", hf_model_route("hf-router"),
              methods=["POST"]),
        Route("/pipeline/feature-extraction/{model:path}", hf_model_route("hf-legacy-pipeline"),
              methods=["POST"]),
        Route("/models/{model:path}", hf_model_route("hf-legacy-models"), methods=["POST"]),
        Route("/embed", tei_embed, methods=["POST"]),
        Route("/", tei_embed, methods=["POST"]),
        Route("/", tei_health, methods=["GET"]),
        Route("/info", tei_info, methods=["GET"]),
        Route("/health", tei_health, methods=["GET"]),
        Route("/v1/embeddings", openai_embeddings, methods=["POST"]),
        Route("/mistral/v1/embeddings", mistral_embeddings, methods=["POST"]),
        Route("/openai/deployments/{deployment}/embeddings", azure_embeddings, methods=["POST"]),
        Route("/api/embed", ollama_embed, methods=["POST"]),
        Route("/v1beta/models/{model_action}", google_models, methods=["POST"]),
        Route("/v1/models/{model_action}", google_models, methods=["POST"]),
        Route("/token", vertex_token, methods=["POST"]),
        Route("/{version}/projects/{project}/locations/{location}/publishers/google/models/{model_action}",
              vertex_predict, methods=["POST"]),
        *_control_routes(state),
    ]
    return Starlette(routes=routes)


def _verify_assertion(state: _State, assertion: str, token_uri: str) -> str | None:
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


def _control_routes(state: _State) -> list[Route]:
    async def stats(request: Request) -> Response:
        with state.lock:
            return JSONResponse({route: vars(s) for route, s in state.stats.items()})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.reset(faults_only=True)
        else:
            body = json.loads(await request.body())
            state.add_fault(body.pop("kind"), body.pop("times", 1), body.pop("routes", None), body)
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        state.reset()
        return Response(status_code=204)

    return [Route("/_control/stats", stats, methods=["GET"]),
            Route("/_control/faults", faults, methods=["POST", "DELETE"]),
            Route("/_control/reset", reset, methods=["POST"])]


class EmbeddingServer:
    """The app on 127.0.0.1 in a background thread; a context manager."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        models: Iterable[str] = DEFAULT_MODELS,
        host: str = "127.0.0.1",
        port: int = 0,
        model: EmbeddedModel | None = None,
    ) -> None:
        self._state = _State(api_key=api_key, models=set(models))
        self._model = model
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def api_key(self) -> str | None:
        return self._state.api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self._state.api_key = value

    @property
    def models(self) -> set[str]:
        """Models (and Azure deployments) the server serves; others get the vendor's 404."""
        return self._state.models

    def start(self) -> EmbeddingServer:
        model = self._model or get_embedded_model()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(create_app(self._state, model), log_config=None, log_level="warning",
                                access_log=False, lifespan="off",
                                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS)
        logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"embedding-server-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("embedding server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_GRACEFUL_SHUTDOWN_SECONDS + 5)
        self._server = self._thread = None

    def __enter__(self) -> EmbeddingServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_fault(self, kind: FaultKind, *, times: int | None = 1, routes: Iterable[str] | None = None,
                  **params: Any) -> None:
        """Fail the next ``times`` matching requests (None: until cleared). Parameters:
        ``estimated_time`` (loading), ``retry_after`` (rate_limit), ``max_batch`` and
        ``announce_limit`` (batch_limit), ``delay`` (slow), ``status`` (server_error)."""
        self._state.add_fault(kind, times, routes, params)

    def clear_faults(self) -> None:
        self._state.reset(faults_only=True)

    def reset(self) -> None:
        """Forget faults, counters and recorded requests."""
        self._state.reset()

    def stats(self) -> dict[str, RouteStats]:
        with self._state.lock:
            return {route: RouteStats(s.requests, s.inputs) for route, s in self._state.stats.items()}

    def requests(self, route: str | None = None) -> list[RecordedRequest]:
        with self._state.lock:
            return [r for r in self._state.log if route is None or r.route == route]

    def expire_tokens(self) -> None:
        """Make every issued Vertex access token invalid (as if revoked)."""
        with self._state.lock:
            self._state.tokens.clear()

    def create_service_account(self, *, project_id: str = "rookdb-test",
                               client_email: str = "embedder@rookdb-test.iam.gserviceaccount.com") -> str:
        """A service-account key file whose ``token_uri`` is this server; its key is trusted here."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self._state.lock:
            self._state.public_keys[client_email] = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return json.dumps({
            "type": "service_account", "project_id": project_id, "private_key_id": secrets.token_hex(8),
            "private_key": pem, "client_email": client_email, "client_id": "1",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f"{self.url}/token",
        })


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local embedding server speaking provider protocols")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", default="test-key", help="key every vendor route expects ('' = none)")
    args = parser.parse_args(argv)
    state = _State(api_key=args.api_key or None, models=set(DEFAULT_MODELS))
    model = get_embedded_model()
    model.check()
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    uvicorn.run(create_app(state, model), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
