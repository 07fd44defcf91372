"""Headers every response carries: ``Raven-Server-Version``, the RavenDB version rookdb speaks.

The clients read it to decide what a server supports: the Python client refuses to follow a cluster
transaction on a server it believes older than 4.1.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RAVENDB_PROTOCOL_VERSION", "ServerVersionHeader"]

RAVENDB_PROTOCOL_VERSION = "7.2.0"
_HEADER = (b"raven-server-version", RAVENDB_PROTOCOL_VERSION.encode("ascii"))


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
                message["headers"] = [*message.get("headers", []), _HEADER]
            await send(message)

        await self.app(scope, receive, send_with_version)
