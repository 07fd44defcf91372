"""Ollama's ``/api/embed``: no authentication, ``{"error": "..."}`` bodies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._family import Family
from rookdb.testing.embedding_server._flow import Flow, texts_in

__all__ = ["Ollama", "routes"]


class Ollama(Family):
    def not_found(self, model: str) -> Response:
        return JSONResponse({"error": f'model "{model}" not found, try pulling it first'}, status_code=404)


_OLLAMA = Ollama()
_TEXTS = texts_in("input")


def routes(flow: Flow) -> list[Route]:
    async def embed(request: Request) -> Response:
        return await flow.embed(request, "ollama", _OLLAMA, None, _TEXTS, None,
                                lambda b, v, t: {"model": b.get("model"), "embeddings": v},
                                authorized=True)  # Ollama has no authentication

    return [Route("/api/embed", embed, methods=["POST"])]
