"""Injected faults: what a request that draws a fault is answered, in its vendor family's words."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from rookdb.testing.embedding_server._family import Family
from rookdb.testing.embedding_server._state import Fault

__all__ = ["TEI_DEFAULT_MAX_BATCH", "NonFiniteJSONResponse", "QuietDrops", "fault_response", "spoil_vectors"]

# max_client_batch_size TEI reports when no batch_limit fault is set (TEI's default).
TEI_DEFAULT_MAX_BATCH = 32


class _DroppedConnection(Exception):
    """Raised after a partial answer so the server aborts the connection (fault ``drop``)."""


class _DropResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
        raise _DroppedConnection


class QuietDrops(logging.Filter):
    """Keeps the connections dropped on purpose out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DroppedConnection))


def fault_response(fault: Fault, family: Family, model: str, count: int) -> Response | None:
    """The failed answer for ``fault``; None when the fault changes the normal answer instead."""
    params = fault.params
    if fault.kind == "unauthorized":
        return family.unauthorized(None)
    if fault.kind == "model_not_found":
        return family.not_found(model)
    if fault.kind == "loading":
        return family.loading(model, float(params.get("estimated_time", 20.0)))
    if fault.kind == "rate_limit":
        retry_after = params.get("retry_after", 1)
        return family.error(429, "Rate limit reached.", {"Retry-After": str(retry_after)})
    if fault.kind == "server_error":
        return family.error(int(params.get("status", 500)), "Internal server error.")
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
    return None  # slow, token_level and non_finite change how the normal answer is produced


def spoil_vectors(fault: Fault, vectors: list[list[float]], texts: list[str]) -> list[list[float]]:
    """Fault ``non_finite``: the vector of every text containing ``text`` (all texts without it) is
    made of ``value`` (``"nan"``, ``"inf"`` or ``"-inf"``; NaN by default)."""
    value = float(fault.params.get("value", "nan"))
    marker = fault.params.get("text")
    return [[value] * len(vector) if marker is None or marker in text else vector
            for vector, text in zip(vectors, texts, strict=True)]


class NonFiniteJSONResponse(JSONResponse):
    """JSON as Python's encoder writes it, with bare ``NaN`` and ``Infinity`` (Python-based servers do)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
