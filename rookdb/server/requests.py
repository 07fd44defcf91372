"""Reading request input: JSON bodies (whatever the Content-Type says) and query parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import HTTPConnection, Request

from rookdb.documents.async_database import AsyncCatalog, AsyncDatabase
from rookdb.errors import BadRequestError

__all__ = [
    "catalog_of",
    "database_of",
    "if_match",
    "query_bool",
    "query_int",
    "query_required",
    "read_json",
    "read_json_object",
]


async def read_json(request: Request, *, allow_empty: bool = False) -> Any:
    """The body parsed as JSON; the official client sends JSON mostly without a Content-Type."""
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return None
        raise BadRequestError("The request body is empty; a JSON body is required.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded") or (
            b"=" in raw and not raw.lstrip().startswith((b"{", b"["))
        ):
            # The Python client sends a few bodies form-encoded (a dict given to requests' data=).
            return {key: values if len(values) > 1 else values[0]
                    for key, values in parse_qs(raw.decode("utf-8", "replace")).items()}
        raise BadRequestError(f"The request body is not valid JSON: {error}") from error


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.")
    return body


def query_required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None or value == "":
        raise BadRequestError(f"Query string parameter '{name}' is required.")
    return value


def query_int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as error:
        raise BadRequestError(f"Query string parameter '{name}' must be an integer, got '{value}'.") from error


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    return value.lower() in ("true", "1", "yes")


def catalog_of(request: HTTPConnection) -> AsyncCatalog:
    """The server's databases (the awaitable facade over the catalog)."""
    catalog: AsyncCatalog = request.app.state.catalog
    return catalog


async def database_of(request: HTTPConnection) -> AsyncDatabase:
    """The database named in the path (``/databases/{database}/...``)."""
    return await catalog_of(request).database(request.path_params["database"])


def if_match(request: Request) -> str | None:
    """The change vector an ``If-Match`` header expects (the clients quote it)."""
    value = request.headers.get("If-Match")
    return value.strip('"') if value is not None else None
