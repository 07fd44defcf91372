"""Google's Gemini API (``batchEmbedContents``, keyed by ``x-goog-api-key``); Vertex AI shares its errors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rookdb.testing.embedding_server._family import Family
from rookdb.testing.embedding_server._flow import Flow

__all__ = ["Google", "google_error", "routes"]


def google_error(code: int, status: str, message: str, reason: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com"}]
    return JSONResponse({"error": error}, status_code=code)


class Google(Family):
    def unauthorized(self, key: str | None) -> Response:
        if not key:
            return google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        return google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                            "API_KEY_INVALID")

    def not_found(self, model: str) -> Response:
        return google_error(404, "NOT_FOUND", f"models/{model} is not found.")

    def error_body(self, code: int, message: str) -> Response:
        status = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(code, "INTERNAL")
        return google_error(code, status, message)


_GOOGLE = Google()


def _texts(body: Any) -> list[str] | None:
    items = body.get("requests") if isinstance(body, dict) else None
    try:
        return [item["content"]["parts"][0]["text"] for item in items]  # type: ignore[union-attr]
    except (KeyError, IndexError, TypeError):
        return None


def _dimensions(body: Any) -> Any:
    return body["requests"][0].get("outputDimensionality") if body["requests"] else None


def routes(flow: Flow) -> list[Route]:
    async def models(request: Request) -> Response:
        name, _, action = request.path_params["model_action"].partition(":")
        if action != "batchEmbedContents":
            return google_error(404, "NOT_FOUND", f"Method {action} not found.")
        return await flow.embed(
            request, "google", _GOOGLE, name, _texts, request.headers.get("x-goog-api-key"),
            lambda b, v, t: {"embeddings": [{"values": values} for values in v]},
            dimensions_of=_dimensions)

    return [Route("/v1beta/models/{model_action}", models, methods=["POST"]),
            Route("/v1/models/{model_action}", models, methods=["POST"])]
