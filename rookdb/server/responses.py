"""JSON responses encoded with orjson, and the one place errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import RookError

__all__ = ["RawJsonResponse", "error_response", "json_response", "no_content"]

logger = logging.getLogger("rookdb.server")


class RawJsonResponse(Response):
    """A response whose body is already-encoded JSON."""

    media_type = "application/json; charset=utf-8"


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return RawJsonResponse(
        orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS), status_code=status_code, headers=headers
    )


def no_content() -> Response:
    return Response(status_code=204)


def error_response(request: Request, error: BaseException) -> Response:
    """RavenDB's error envelope (``Url``, ``Type``, ``Message``, ``Error``) with the error's status.

    The clients show ``Error`` to the user and pick the exception class from ``Type``; anything that is
    not a ``RookError`` is answered as a generic 500 and logged once, with its traceback, by the server:
    Starlette's outermost layer re-raises it after this answer.
    """
    if not isinstance(error, RookError):
        error.add_note(f"While answering {request.method} {request.url.path}")
        error = RookError(f"Internal server error: {type(error).__name__}. See the server log for details.")
    body = {
        "Url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "Type": error.wire_type,
        "Message": error.message,
        "Error": f"{error.wire_type}: {error.message}",
        **error.extra_fields(),
    }
    return json_response(body, status_code=error.status_code, headers=error.headers())
