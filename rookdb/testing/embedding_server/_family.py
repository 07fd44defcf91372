"""A vendor family: how it refuses a key, an unknown model and a failing request.

The base answers the way Hugging Face's Inference API does (``{"error": "..."}``); each vendor's
module overrides what its vendor says differently.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

__all__ = ["Family"]


class Family:
    """The error bodies of one vendor family, used by the shared request flow and by the faults."""

    def unauthorized(self, key: str | None) -> Response:
        """The answer to a missing or wrong API key (``key`` as presented, possibly None)."""
        return JSONResponse({"error": "Invalid credentials in Authorization header"}, status_code=401)

    def not_found(self, model: str) -> Response:
        """The answer for a model (or deployment) the server does not serve."""
        return JSONResponse({"error": f"Model {model} does not exist"}, status_code=404)

    def loading(self, model: str, estimated_time: float) -> Response:
        """The answer while the model is loading (fault ``loading``)."""
        return self.error(503, "The service is currently unavailable.")

    def error(self, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
        """Any other failure with ``code``, e.g. 429 with ``Retry-After`` or a 5xx."""
        response = self.error_body(code, message)
        response.headers.update(headers or {})
        return response

    def error_body(self, code: int, message: str) -> Response:
        return JSONResponse({"error": message}, status_code=code)
