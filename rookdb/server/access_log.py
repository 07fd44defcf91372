"""The access log: one line per request (client, method, path with query, status, milliseconds).

Lines are gathered and written together at most ``DEFAULT_ACCESS_LOG_FLUSH_SECONDS`` apart: one write
per batch instead of a formatted log record and a flushed write per request, which cost about a tenth
of a document load's time under load. The ``Server.AccessLog`` setting turns it off.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_ACCESS_LOG_FLUSH_SECONDS", "AccessLog"]

DEFAULT_ACCESS_LOG_FLUSH_SECONDS = 0.1


class AccessLog:
    """ASGI middleware (outermost, so it sees the status the error handling answered) writing the access log."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None, *,
                 flush_seconds: float = DEFAULT_ACCESS_LOG_FLUSH_SECONDS) -> None:
        self.app = app
        self._stream = stream
        self._flush_seconds = flush_seconds
        self._lines: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._flushing_at_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._add(scope, status, time.perf_counter() - started)

    def _add(self, scope: Scope, status: int, seconds: float) -> None:
        client = scope.get("client")
        caller = f"{client[0]}:{client[1]}" if client else "-"
        query = scope.get("query_string", b"")
        path = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        self._lines.append(f'{caller} - "{scope["method"]} {path} HTTP/{scope["http_version"]}" '
                           f'{status or "-"} {seconds * 1000:.1f} ms\n')
        if len(self._lines) == 1:
            asyncio.get_running_loop().call_later(self._flush_seconds, self.flush)

    def flush(self) -> None:
        """Write the lines gathered so far."""
        if self._lines:
            lines, self._lines = self._lines, []
            stream = self._stream or sys.stdout
            stream.write("".join(lines))
            stream.flush()

    def _flushing_at_shutdown(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self.flush()
            await send(message)

        return sending
