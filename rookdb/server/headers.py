"""Headers the responses carry: ``Raven-Server-Version``, the RavenDB version rookdb speaks, on every
one; ``Refresh-Topology`` when the client's topology is older than the node set.

The clients read the version to decide what a server supports: the Python client refuses to follow a
cluster transaction on a server it believes older than 4.1.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rookdb.documents.async_database import AsyncCatalog

__all__ = ["RAVENDB_PROTOCOL_VERSION", "SERVER_VERSION_HEADER", "ServerVersionHeader", "TopologyChangedHeader",
           "request_header"]

RAVENDB_PROTOCOL_VERSION = "7.2.0"
SERVER_VERSION_HEADER = (b"raven-server-version", RAVENDB_PROTOCOL_VERSION.encode("ascii"))


class ServerVersionHeader:
    """ASGI middleware adding ``Raven-Server-Version`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), SERVER_VERSION_HEADER]
            await send(message)

        await self.app(scope, receive, send_with_version)


_TOPOLOGY_ETAG = b"topology-etag"
_REFRESH_TOPOLOGY = (b"refresh-topology", b"true")


class TopologyChangedHeader:
    """ASGI middleware: a request whose ``Topology-Etag`` is older than this node's topology gets
    ``Refresh-Topology: true``, and the client re-reads ``/topology`` (nodes joined or left)."""

    def __init__(self, app: ASGIApp, catalog: AsyncCatalog) -> None:
        self.app = app
        self.catalog = catalog

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        membership = self.catalog.membership
        sent = request_header(scope, _TOPOLOGY_ETAG)
        if scope["type"] != "http" or membership is None or sent is None:
            await self.app(scope, receive, send)
            return
        digits = sent.strip(b'" ')
        stale = digits.lstrip(b"-").isdigit() and int(digits) < membership.etag

        async def send_with_refresh(message: Message) -> None:
            if stale and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), _REFRESH_TOPOLOGY]
            await send(message)

        await self.app(scope, receive, send_with_refresh)


def request_header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the request's header ``name`` (lower case), as Starlette's ``Headers.get`` finds it."""
    return next((value for key, value in scope.get("headers", ()) if key == name), None)
