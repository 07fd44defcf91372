"""Connections to a secured server: TLS with the client certificate in every request, plain HTTP told off.

uvicorn can terminate TLS, but with one fixed context and without telling the application which
certificate the client presented. This protocol sits in front of uvicorn's HTTP protocol instead:
it looks at the first byte of a connection (a TLS record starts with 0x16, as RavenDB checks),
runs the server side of TLS on that connection with asyncio's SSL protocol, and gives every request
the ASGI TLS extension (``scope["extensions"]["tls"]["client_cert_chain"]``). A plain-HTTP request
goes to the HTTP protocol unencrypted, so that the application can answer it with RavenDB's 400
instead of dropping the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from typing import Any, ClassVar, cast

from rookdb.server.http_protocol import RavenHttpProtocol

__all__ = ["TLS_HANDSHAKE_TIMEOUT_SECONDS", "secured_connections"]

TLS_HANDSHAKE_TIMEOUT_SECONDS = 30  # first byte and TLS handshake together; then uvicorn's own timeouts apply
_TLS_HANDSHAKE_RECORD = 0x16
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class _CertificateAwareHttp(RavenHttpProtocol):
    """uvicorn's HTTP protocol (with RavenDB's ``RESET``), adding the ASGI TLS extension to each request of a
    TLS connection."""

    _tls: dict[str, Any] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        secured = transport.get_extra_info("ssl_object")
        if isinstance(secured, ssl.SSLObject):
            der = secured.getpeercert(binary_form=True)
            self._tls = {
                "server_cert": None,
                "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
                "client_cert_name": None,
                "client_cert_error": None,
                "tls_version": _TLS_VERSIONS.get(secured.version() or ""),
                "cipher_suite": None,
            }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            extensions: dict[str, object] = self.scope.setdefault("extensions", {})  # type: ignore[assignment]
            extensions["tls"] = self._tls


class _SecuredConnection(asyncio.Protocol):
    """Decides from the first byte whether a connection speaks TLS, then hands it to the HTTP protocol."""

    context: ClassVar[ssl.SSLContext]

    def __init__(self, **uvicorn_arguments: Any) -> None:
        self._http = _CertificateAwareHttp(**uvicorn_arguments)
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes
        self._transport = transport
        self._deadline = asyncio.get_running_loop().call_later(TLS_HANDSHAKE_TIMEOUT_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        assert transport is not None and self._deadline is not None
        self._deadline.cancel()
        if data[0] != _TLS_HANDSHAKE_RECORD:
            transport.set_protocol(self._http)
            self._http.connection_made(transport)
            self._http.data_received(data)
            return
        loop = asyncio.get_running_loop()
        handshake: asyncio.Future[None] = loop.create_future()
        # A failed handshake (a client that gave up or distrusts the server) only closes the connection.
        handshake.add_done_callback(lambda done: done.cancelled() or done.exception())
        secured = sslproto.SSLProtocol(loop, self._http, self.context, handshake, server_side=True,
                                       ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_SECONDS)
        transport.set_protocol(secured)
        secured.connection_made(transport)
        _feed(secured, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()


def _feed(protocol: asyncio.BufferedProtocol, data: bytes) -> None:
    """Give a buffered protocol bytes that were already read from the socket."""
    view = memoryview(data)
    while view:
        buffer = memoryview(protocol.get_buffer(len(view)))
        size = min(len(buffer), len(view))
        buffer[:size] = view[:size]
        protocol.buffer_updated(size)
        view = view[size:]


def secured_connections(context: ssl.SSLContext) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for a server with this TLS context."""
    return type("SecuredConnection", (_SecuredConnection,), {"context": context})
