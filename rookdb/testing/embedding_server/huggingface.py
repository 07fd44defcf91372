"""Hugging Face: the Inference router and its legacy paths, and a Text Embeddings Inference (TEI) server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._family import Family
from rookdb.testing.embedding_server._faults import TEI_DEFAULT_MAX_BATCH
from rookdb.testing.embedding_server._flow import Flow, bearer, texts_in
from rookdb.testing.embedding_server._state import DEFAULT_MODELS

__all__ = ["HuggingFace", "TextEmbeddingsInference", "routes"]


class HuggingFace(Family):
    """The Inference API's answers (the base family's), plus its 503 while a model loads."""

    def loading(self, model: str, estimated_time: float) -> Response:
        return JSONResponse({"error": f"Model {model} is currently loading", "estimated_time": estimated_time},
                            status_code=503)


class TextEmbeddingsInference(HuggingFace):
    def unauthorized(self, key: str | None) -> Response:
        return Response(status_code=401)  # TEI answers a bare 401


_HUGGING_FACE = HuggingFace()
_TEI = TextEmbeddingsInference()


def _plain(body: Any, vectors: list[list[float]], texts: list[str]) -> Any:
    return vectors


def routes(flow: Flow) -> list[Route]:
    texts = texts_in("inputs")

    def tokens(inputs: list[str]) -> Any:
        return [matrix.tolist() for matrix in flow.model.token_embeddings(inputs)]

    def model_route(route: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await flow.embed(request, route, _HUGGING_FACE, request.path_params["model"], texts,
                                    bearer(request), _plain, token_level=tokens)

        return endpoint

    async def tei_embed(request: Request) -> Response:
        route = "tei-root" if request.url.path == "/" else "tei-embed"
        return await flow.embed(request, route, _TEI, None, texts, bearer(request), _plain,
                                check_model=False, token_level=tokens)

    async def tei_info(request: Request) -> Response:
        flow.state.record("tei-info", request, None, 0)
        if not flow.key_ok(bearer(request)):
            return _TEI.unauthorized(bearer(request))
        limit = TEI_DEFAULT_MAX_BATCH
        with flow.state.lock:
            for fault in flow.state.faults:
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

    return [
        Route("/hf-inference/models/{model:path}/pipeline/feature-extraction", model_route("hf-router"),
              methods=["POST"]),
        Route("/pipeline/feature-extraction/{model:path}", model_route("hf-legacy-pipeline"), methods=["POST"]),
        Route("/models/{model:path}", model_route("hf-legacy-models"), methods=["POST"]),
        Route("/embed", tei_embed, methods=["POST"]),
        Route("/", tei_embed, methods=["POST"]),
        Route("/", tei_health, methods=["GET"]),
        Route("/info", tei_info, methods=["GET"]),
        Route("/health", tei_health, methods=["GET"]),
    ]
