"""The ASGI app: every vendor family's routes over one shared state, plus the ``/_control`` API."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.ai.embedded_model import EmbeddedModel
from rookdb.testing.embedding_server import (
    azure_openai,
    google,
    huggingface,
    mistral,
    ollama,
    openai,
    vertex,
)
from rookdb.testing.embedding_server._flow import Flow
from rookdb.testing.embedding_server._state import State

__all__ = ["create_app"]


def create_app(state: State, model: EmbeddedModel) -> Starlette:
    """The ASGI app; ``EmbeddingServer`` runs it, benchmarks may mount it elsewhere."""
    flow = Flow(state, model)
    families = (huggingface, openai, mistral, azure_openai, ollama, google, vertex)
    routes = [route for family in families for route in family.routes(flow)]
    return Starlette(routes=[*routes, *_control_routes(state)])


def _control_routes(state: State) -> list[Route]:
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
