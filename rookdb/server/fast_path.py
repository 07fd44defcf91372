"""The hottest request, one document loaded by id (``GET /databases/{db}/docs?id=...``), answered without
Starlette's per-request objects.

Through the full stack such a load built a ``Request``, went through four middleware layers, the router,
the route's guard and the exception handling, and a ``Response``: about half of the server's time per
load, on one core shared with everything else. Here the exact simple case is recognised from the ASGI
scope and answered with the same bytes and headers the full stack sends (``ETag``, ``Content-Length``,
``Content-Type``, ``Raven-Server-Version``; 304 for a current ``If-None-Match``, an empty 404 for a
missing document). Anything else goes to the full stack untouched: another method, path or query
parameter, a secured server (its identity and access checks live there), several nodes (the topology
header), and any error, which the full stack meets again and answers with RavenDB's error envelope.
The access log wraps the whole app, so it sees these requests as any other.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette._utils import get_route_path
from starlette.types import Scope, Send

from rookdb.documents.async_database import AsyncCatalog
from rookdb.security import ServerSecurity
from rookdb.server.endpoints.documents import encoded_load
from rookdb.server.headers import SERVER_VERSION_HEADER, request_header
from rookdb.server.responses import RawJsonResponse

__all__ = ["DocumentLoadFastPath", "single_load"]

_ID_PARAMETER = b"id="
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
        if found is None or self._security.secured or self._catalog.membership is not None:
            return False
        database_name, doc_id = found
        try:
            database = await self._catalog.database(database_name)
            result = await database.load([doc_id], ())
            if result.documents[0] is None:
                status, headers, body = 404, _NOT_FOUND_HEADERS, b""
            else:
                etag = f'"{result.etag()}"'.encode("latin-1")
                if request_header(scope, _IF_NONE_MATCH) == etag:
                    status, headers, body = 304, [(b"etag", etag), SERVER_VERSION_HEADER], b""
                else:
                    body = encoded_load(result, False)
                    status, headers = 200, [(b"etag", etag), (b"content-length", str(len(body)).encode("latin-1")),
                                            _CONTENT_TYPE, SERVER_VERSION_HEADER]
        except Exception:
            return False  # nothing was sent: the full stack answers, with the error envelope if it fails again
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
