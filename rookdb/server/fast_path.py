"""The hottest requests, one document loaded by id (``GET /databases/{db}/docs?id=...``) and a query that
runs on the event loop (``POST /databases/{db}/queries``), answered without Starlette's per-request objects.

Through the full stack such a load built a ``Request``, went through four middleware layers, the router,
the route's guard and the exception handling, and a ``Response``: about half of the server's time per
load, on one core shared with everything else. Here the exact simple case is recognised from the ASGI
scope and answered with the same bytes and headers the full stack sends (``ETag``, ``Content-Length``,
``Content-Type``, ``Raven-Server-Version``; 304 for a current ``If-None-Match``, an empty 404 for a
missing document). Anything else goes to the full stack untouched: another method, path or query
parameter, a secured server (its identity and access checks live there), several nodes (the topology
header), and any error, which the full stack meets again and answers with RavenDB's error envelope.
The access log wraps the whole app, so it sees these requests as any other.

A posted query is taken when nothing but ``queryHash`` (which the official clients add) is in its query
string, its body is a JSON object, it does not wait for its index and it is one that runs on the event
loop (``rookdb.documents.querying.is_short``): run and rendered by the same functions as the full stack's
endpoint, within the same query slots. Its body, once read, is given back to the full stack when that
answers instead; a query that fails there runs again there, which for these queries is short.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

import orjson
from starlette._utils import get_route_path
from starlette.types import Message, Receive, Scope, Send

from rookdb.documents.async_database import AsyncCatalog
from rookdb.documents.querying import is_short, wait_for_non_stale_seconds
from rookdb.security import ServerSecurity
from rookdb.server.endpoints.documents import encoded_load
from rookdb.server.endpoints.queries import QuerySlots, answer_query, rendered
from rookdb.server.headers import SERVER_VERSION_HEADER, request_header
from rookdb.server.responses import RawJsonResponse

__all__ = ["DocumentLoadFastPath", "QueryFastPath", "posted_query", "single_load"]

_ID_PARAMETER = b"id="
_QUERY_HASH_PARAMETER = b"queryHash="
_IF_NONE_MATCH = b"if-none-match"
_CONTENT_TYPE = (b"content-type", RawJsonResponse.media_type.encode("latin-1"))
_NOT_FOUND_HEADERS = [(b"content-length", b"0"), SERVER_VERSION_HEADER]


def single_load(scope: Scope) -> tuple[str, str] | None:
    """``(database, id)`` when the request is exactly ``GET /databases/{db}/docs?id=...`` with one id and
    nothing else; None for any other request."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    query: bytes = scope["query_string"]
    if b"&" in query:  # the official clients send "?&id=...": empty parameters are skipped, as parse_qsl does
        pieces = [piece for piece in query.split(b"&") if piece]
        if len(pieces) != 1:
            return None
        query = pieces[0]
    if not query.startswith(_ID_PARAMETER) or len(query) == len(_ID_PARAMETER):
        return None
    parts = get_route_path(scope).split("/")
    if len(parts) != 4 or parts[1] != "databases" or not parts[2] or parts[3] != "docs":
        return None
    # Decoded as Starlette's query parameters decode it (parse_qsl: '+' is a space, UTF-8, replaced errors).
    return parts[2], unquote_plus(query[len(_ID_PARAMETER):].decode("latin-1"), errors="replace")


class DocumentLoadFastPath:
    """Answers a single-document load itself when it can (see the module); ``answered`` says whether it did."""

    def __init__(self, catalog: AsyncCatalog, security: ServerSecurity) -> None:
        self._catalog = catalog
        self._security = security

    async def answered(self, scope: Scope, send: Send) -> bool:
        """True when the response was sent; False (nothing sent) when the full stack must answer."""
        found = single_load(scope)
        if found is None or _full_stack_only(self._catalog, self._security):
            return False
        database_name, doc_id = found
        try:
            database = await self._catalog.database(database_name)
            result = await database.load([doc_id], ())
            if result.documents[0] is None:
                answer = 404, _NOT_FOUND_HEADERS, b""
            else:
                etag = f'"{result.etag()}"'
                current = request_header(scope, _IF_NONE_MATCH) == etag.encode("latin-1")
                answer = _json_answer(etag, None if current else encoded_load(result, False))
        except Exception:
            return False  # nothing was sent: the full stack answers, with the error envelope if it fails again
        await _send(send, *answer)
        return True


def posted_query(scope: Scope) -> str | None:
    """The database of a request that is exactly ``POST /databases/{db}/queries`` with nothing but
    ``queryHash`` in its query string; None for any other request."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    query: bytes = scope["query_string"]
    if query and any(piece and not piece.startswith(_QUERY_HASH_PARAMETER) for piece in query.split(b"&")):
        return None
    parts = get_route_path(scope).split("/")
    if len(parts) != 4 or parts[1] != "databases" or not parts[2] or parts[3] != "queries":
        return None
    return parts[2]


class QueryFastPath:
    """Answers a posted query that runs on the event loop itself when it can (see the module)."""

    def __init__(self, catalog: AsyncCatalog, security: ServerSecurity, slots: QuerySlots) -> None:
        self._catalog = catalog
        self._security = security
        self._slots = slots

    async def answered(self, scope: Scope, receive: Receive, send: Send) -> tuple[bool, Receive]:
        """``(True, receive)`` when the response was sent; otherwise ``(False, receive)`` with nothing sent
        and the ``receive`` the full stack reads the request from (the body this read comes first)."""
        database_name = posted_query(scope)
        if database_name is None or _full_stack_only(self._catalog, self._security):
            return False, receive
        body, receive = await _read_body(receive)
        if body is None:
            return False, receive
        try:
            parsed = orjson.loads(body)
            text = parsed.get("Query") if isinstance(parsed, dict) else None
            if (not isinstance(text, str) or wait_for_non_stale_seconds(parsed) is not None
                    or not is_short(text, None)):
                return False, receive
            database = await self._catalog.database(database_name)
            answer = await answer_query(database, self._slots, parsed)
            if_none_match = request_header(scope, _IF_NONE_MATCH)
            http_etag, content = rendered(answer, None if if_none_match is None else if_none_match.decode("latin-1"),
                                          False)
        except Exception:
            return False, receive  # nothing was sent: the full stack answers, with the error envelope if it fails again
        await _send(send, *_json_answer(http_etag, content))
        return True, receive


def _full_stack_only(catalog: AsyncCatalog, security: ServerSecurity) -> bool:
    """A secured server (identity and access checks) or several nodes (the topology header): no fast path."""
    return security.secured or catalog.membership is not None


def _json_answer(etag: str, body: bytes | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of a JSON answer with its ETag: 200 with ``body``, or 304 without one."""
    encoded = etag.encode("latin-1")
    if body is None:
        return 304, [(b"etag", encoded), SERVER_VERSION_HEADER], b""
    return 200, [(b"etag", encoded), (b"content-length", str(len(body)).encode("latin-1")), _CONTENT_TYPE,
                 SERVER_VERSION_HEADER], body


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The request's body (None when the client left first) and a ``receive`` that gives what was read
    back before it reads on."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, _replaying(message, receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replaying({"type": "http.request", "body": body, "more_body": False}, receive)


def _replaying(first: Message, receive: Receive) -> Receive:
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
