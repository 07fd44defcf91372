"""uvicorn's httptools HTTP/1.1 protocol, taught RavenDB's ``RESET`` method.

The official clients reset an index with ``RESET /databases/{db}/indexes?name=...``; llhttp (under
httptools) refuses methods it does not know, so a request that starts with ``RESET`` is parsed as
``PURGE`` and handed to the application as ``RESET`` again. Only a request beginning a chunk of
received data is recognised, which is how the clients send their requests (one request per write,
never pipelined).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["RavenHttpProtocol"]

_RESET = b"RESET "
_STAND_IN = b"PURGE "  # same length, and a method llhttp knows


class RavenHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that also accepts ``RESET`` requests."""

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

    def on_message_complete(self) -> None:
        self._between_messages = True
        super().on_message_complete()
