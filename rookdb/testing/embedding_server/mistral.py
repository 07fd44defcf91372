"""Mistral's embeddings API (OpenAI-shaped answers, its own refusals), served under ``/mistral``."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._flow import Flow, bearer
from rookdb.testing.embedding_server.openai import INPUT_TEXTS, OpenAi, embeddings_list

__all__ = ["Mistral", "routes"]


class Mistral(OpenAi):
    def unauthorized(self, key: str | None) -> Response:
        return JSONResponse({"message": "Unauthorized", "request_id": uuid.uuid4().hex}, status_code=401)

    def not_found(self, model: str) -> Response:
        return JSONResponse({"object": "error", "message": f"Invalid model: {model}", "type": "invalid_model",
                             "param": None, "code": "1500"}, status_code=400)


_MISTRAL = Mistral()


def routes(flow: Flow) -> list[Route]:
    answer = embeddings_list(flow)

    async def embeddings(request: Request) -> Response:
        return await flow.embed(request, "mistral", _MISTRAL, None, INPUT_TEXTS, bearer(request), answer)

    return [Route("/mistral/v1/embeddings", embeddings, methods=["POST"])]
