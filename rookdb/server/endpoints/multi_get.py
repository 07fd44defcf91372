"""``POST /databases/{db}/multi_get``: a session's lazy operations, many requests in one round trip.

Each inner request (``{"Url", "Query", "Method", "Headers", "Content"}``) is served by the same app as
if it had come alone, with the caller's connection (so the same identity and authorization apply),
and answered as ``{"Result", "Headers", "StatusCode"}``. An inner request that fails answers its own
error envelope with its status; the others are served normally.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope

from rookdb.errors import BadRequestError, RookError
from rookdb.server.requests import database_of, read_json_object
from rookdb.server.responses import RawJsonResponse, error_response

__all__ = ["multi_get"]

_PASSED_ON = ("scheme", "server", "client", "extensions", "state", "app", "root_path", "http_version")


class _InnerRequestError(BadRequestError):
    pass


def _inner_scope(outer: Request, database: str, entry: Any) -> tuple[Scope, bytes]:
    if not isinstance(entry, dict):
        raise _InnerRequestError("A multi_get request must be an object {\"Url\", \"Query\", \"Method\", ...}.")
    url = entry.get("Url")
    prefix = f"/databases/{database}/"
    if not isinstance(url, str) or not url.lower().startswith(prefix.lower()):
        raise _InnerRequestError(f"A multi_get request's Url must start with {prefix}, got {url!r}.")
    method = (entry.get("Method") or "GET").upper()
    if not isinstance(method, str) or url.rstrip("/").lower().endswith("/multi_get"):
        raise _InnerRequestError("A multi_get request cannot be another multi_get.")
    query = entry.get("Query") or ""
    headers = entry.get("Headers") or {}
    if not isinstance(query, str) or not isinstance(headers, dict):
        raise _InnerRequestError("A multi_get request's Query must be a string and its Headers an object.")
    content = entry.get("Content")
    # The Node.js client sends the content already serialized, as a JSON string; the others as JSON.
    body = b"" if content is None else content.encode("utf-8") if isinstance(content, str) else orjson.dumps(content)
    raw_headers = [(str(name).lower().encode("latin-1"), str(value).encode("latin-1"))
                   for name, value in headers.items() if value is not None]
    raw_headers.append((b"content-length", str(len(body)).encode("ascii")))
    path = prefix + url[len(prefix):]
    scope: Scope = {key: outer.scope[key] for key in _PASSED_ON if key in outer.scope}
    scope["state"] = dict(outer.scope.get("state", {}))
    scope.update({"type": "http", "method": method, "path": path, "raw_path": quote(path).encode("ascii"),
                  "query_string": query.lstrip("?").encode("utf-8"), "headers": raw_headers})
    return scope, body


def _header_name(lowered: str) -> str:
    """RavenDB's spelling of a header ASGI hands over lower-cased (``etag`` → ``ETag``)."""
    return "ETag" if lowered == "etag" else "-".join(part.capitalize() for part in lowered.split("-"))


async def _serve(request: Request, scope: Scope, body: bytes) -> dict[str, Any]:
    messages: list[Message] = []
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await request.app(scope, receive, send)
    start = next(message for message in messages if message["type"] == "http.response.start")
    content = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.response.body")
    headers = {_header_name(name.decode("latin-1")): value.decode("latin-1") for name, value in start.get("headers", [])
               if name.lower() not in (b"content-length", b"content-type")}
    try:
        result = orjson.loads(content) if content.strip() else None
    except orjson.JSONDecodeError:
        result = None  # not JSON (an attachment's bytes): the clients only ask multi_get for JSON
    if start["status"] == 404:
        result = None  # the clients read a 404's null result as "missing" (a missing index raises there)
    return {"Result": result, "Headers": headers, "StatusCode": start["status"]}


async def multi_get(request: Request) -> Response:
    database = (await database_of(request)).name  # checks that the database exists first
    body = await read_json_object(request)
    entries = body.get("Requests")
    if not isinstance(entries, list):
        raise BadRequestError("The body must be {\"Requests\": [...]}.")
    results = []
    for entry in entries:
        try:
            scope, content = _inner_scope(request, database, entry)
        except RookError as error:
            failure = orjson.loads(error_response(request, error).body)
            results.append({"Result": failure, "Headers": {}, "StatusCode": error.status_code})
            continue
        results.append(await _serve(request, scope, content))
    return RawJsonResponse(orjson.dumps({"Results": results}))
