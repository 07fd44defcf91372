"""OpenAI's embeddings API (``/v1/embeddings``); Azure OpenAI and Mistral answer in its shape."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._family import Family
from rookdb.testing.embedding_server._flow import Answer, Flow, bearer, texts_in

__all__ = ["OpenAi", "embeddings_list", "openai_error", "routes"]

INPUT_TEXTS = texts_in("input")


def openai_error(code: int, message: str, kind: str, err_code: str | None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": err_code}},
                        status_code=code)


class OpenAi(Family):
    def unauthorized(self, key: str | None) -> Response:
        shown = f"{key[:3]}***{key[-2:]}" if key and len(key) > 6 else "***"
        return openai_error(401, f"Incorrect API key provided: {shown}.", "invalid_request_error", "invalid_api_key")

    def not_found(self, model: str) -> Response:
        return openai_error(404, f"The model `{model}` does not exist or you do not have access to it.",
                            "invalid_request_error", "model_not_found")

    def error_body(self, code: int, message: str) -> Response:
        return openai_error(code, message, "server_error" if code >= 500 else "requests", None)


_OPENAI = OpenAi()


def embeddings_list(flow: Flow) -> Answer:
    """The ``{"object": "list", "data": [...], "usage": ...}`` answer."""
    def answer(body: Any, vectors: list[list[float]], texts: list[str]) -> Any:
        tokens = sum(flow.model.count_tokens(text) for text in texts)
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        return {"object": "list", "data": data[::-1],  # reversed: clients must order by index
                "model": body.get("model"), "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    return answer


def routes(flow: Flow) -> list[Route]:
    answer = embeddings_list(flow)

    async def embeddings(request: Request) -> Response:
        return await flow.embed(request, "openai", _OPENAI, None, INPUT_TEXTS, bearer(request), answer,
                                dimensions_of=lambda b: b.get("dimensions"))

    return [Route("/v1/embeddings", embeddings, methods=["POST"])]
