"""Azure OpenAI: OpenAI's embeddings API per deployment, keyed by ``api-key`` and ``api-version``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._flow import Flow
from rookdb.testing.embedding_server.openai import INPUT_TEXTS, OpenAi, embeddings_list

__all__ = ["AzureOpenAi", "routes"]


class AzureOpenAi(OpenAi):
    def unauthorized(self, key: str | None) -> Response:
        return JSONResponse({"error": {"code": "401", "message": "Access denied due to invalid subscription "
                             "key or wrong API endpoint."}}, status_code=401)

    def not_found(self, model: str) -> Response:
        return JSONResponse({"error": {"code": "DeploymentNotFound", "message": "The API deployment for "
                             "this resource does not exist."}}, status_code=404)


_AZURE = AzureOpenAi()


def routes(flow: Flow) -> list[Route]:
    answer = embeddings_list(flow)

    async def embeddings(request: Request) -> Response:
        deployment = request.path_params["deployment"]
        if not request.query_params.get("api-version"):
            return JSONResponse({"error": {"code": "404", "message": "Resource not found"}}, status_code=404)
        return await flow.embed(request, "azure", _AZURE, deployment, INPUT_TEXTS, request.headers.get("api-key"),
                                answer, dimensions_of=lambda b: b.get("dimensions"))

    return [Route("/openai/deployments/{deployment}/embeddings", embeddings, methods=["POST"])]
