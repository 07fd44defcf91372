"""Length-prefixed frames on the pipes between the server and a patch host: a 4-byte big-endian
length, then that many bytes of JSON."""

from __future__ import annotations

import os
import select
import struct
import time
from typing import IO, Any

import orjson

__all__ = ["FrameReader", "write_frame", "write_raw_frame"]

_HEADER = struct.Struct(">I")
_READ_SIZE = 1 << 16


def write_raw_frame(stream: IO[bytes], payload: bytes) -> None:
    """Write one frame of already-encoded JSON and flush it. Raises `OSError` when the other end is gone."""
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def write_frame(stream: IO[bytes], message: Any) -> None:
    write_raw_frame(stream, orjson.dumps(message))


class FrameReader:
    """Reads frames from a pipe, keeping what arrived past the current frame for the next one."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = bytearray()

    def read_raw(self, deadline: float | None = None) -> bytes:
        """The next frame's bytes. Raises `EOFError` when the pipe closed, `TimeoutError` past ``deadline``
        (a ``time.monotonic()`` value; None waits)."""
        self._fill(_HEADER.size, deadline)
        (length,) = _HEADER.unpack_from(self._buffer)
        end = _HEADER.size + length
        self._fill(end, deadline)
        payload = bytes(self._buffer[_HEADER.size:end])
        del self._buffer[:end]
        return payload

    def read(self, deadline: float | None = None) -> Any:
        return orjson.loads(self.read_raw(deadline))

    def _fill(self, size: int, deadline: float | None) -> None:
        while len(self._buffer) < size:
            descriptor = self._stream.fileno()
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
                    raise TimeoutError
            chunk = os.read(descriptor, _READ_SIZE)
            if not chunk:
                raise EOFError
            self._buffer += chunk
