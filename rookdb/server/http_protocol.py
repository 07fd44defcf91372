"""uvicorn's httptools HTTP/1.1 protocol, taught RavenDB's ``RESET`` method and sending each response's
header block together with its body.

The official clients reset an index with ``RESET /databases/{db}/indexes?name=...``; llhttp (under
httptools) refuses methods it does not know, so a request that starts with ``RESET`` is parsed as
``PURGE`` and handed to the application as ``RESET`` again. Only a request beginning a chunk of
received data is recognised, which is how the clients send their requests (one request per write,
never pipelined).

uvicorn writes a response's status line and headers as soon as the application starts the response,
and the body as a second write: two sends, and on loopback two wake-ups of a client waiting for the
whole answer. Here the header block waits for the body's first write when it comes in the same turn
of the event loop (a response whose body comes later gets its headers at the end of that turn).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["RavenHttpProtocol"]

_RESET = b"RESET "
_STAND_IN = b"PURGE "  # same length, and a method llhttp knows


class _HeaderBlockWithBody:
    """A response's view of its connection's transport: the first write (the header block) is held
    until the next write or the end of the event loop's turn, then sent with it in one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first:
            self._first = False
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():  # the client left meanwhile
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RavenHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that also accepts ``RESET`` requests and writes a response in one piece."""

    _between_messages = True
    _resetting = False

    def data_received(self, data: bytes) -> None:
        if self._between_messages and data.startswith(_RESET):
            data = _STAND_IN + data[len(_RESET):]
            self._resetting = True
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._between_messages = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._resetting:
            self._resetting = False
            self.scope["method"] = "RESET"
        if self.cycle is not None and self.cycle.scope is self.scope:  # not a WebSocket upgrade
            self.cycle.transport = _HeaderBlockWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._between_messages = True
        super().on_message_complete()
