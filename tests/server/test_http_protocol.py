"""The HTTP protocol: a response's header block goes out with its body in one write, and a response
without a body in that turn of the loop (HEAD, a body sent later) still gets its headers."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from rookdb.server.http_protocol import _HeaderBlockWithBody
from rookdb.server.runner import BackgroundServer


class _RecordingTransport:
    """Stands for a connection's transport: records what is written, in order."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def test_the_header_block_goes_out_with_the_body_in_one_write() -> None:
    async def scenario() -> list[bytes]:
        recorded = _RecordingTransport()
        transport = _HeaderBlockWithBody(recorded, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        transport.write(b"")  # later writes go straight through
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        await asyncio.sleep(0)
        return recorded.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b""]


def test_a_header_block_without_a_body_in_the_same_turn_goes_out_at_its_end() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes], bool]:
        loop = asyncio.get_running_loop()
        alone = _RecordingTransport()
        _HeaderBlockWithBody(alone, loop).write(b"HTTP/1.1 200 OK\r\n\r\n")  # type: ignore[arg-type]
        assert alone.writes == []
        await asyncio.sleep(0)
        closing = _RecordingTransport()
        transport = _HeaderBlockWithBody(closing, loop)  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        transport.close()  # a connection closed after its headers sends them first
        gone = _RecordingTransport()
        left = _HeaderBlockWithBody(gone, loop)  # type: ignore[arg-type]
        left.write(b"HTTP/1.1 200 OK\r\n\r\n")
        gone.closed = True  # the client left before the end of the turn: nothing to send
        await asyncio.sleep(0)
        return alone.writes, closing.writes, gone.writes == [] and closing.closed

    alone, closing, nothing_after_leaving = asyncio.run(scenario())
    assert alone == [b"HTTP/1.1 200 OK\r\n\r\n"]
    assert closing == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    assert nothing_after_leaving


def _exchange(server: BackgroundServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        if not request.startswith(b"HEAD"):
            while len(body) < length:
                body += connection.recv(65536)
        return received if request.startswith(b"HEAD") else head + b"\r\n\r\n" + body


def test_responses_over_a_real_connection_keep_their_headers_and_bodies(server: BackgroundServer) -> None:
    got = _exchange(server, b"GET /build/version HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"}") and b'"FullVersion"' in got
    head = _exchange(server, b"HEAD /build/version HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 ") and head.endswith(b"\r\n\r\n")
