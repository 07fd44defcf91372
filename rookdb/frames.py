"""Length-prefixed JSON frames on the pipes between the server and its JavaScript host processes
(embeddings scripts and patches): a 4-byte big-endian length, then that many bytes of JSON."""

from __future__ import annotations

import os
import select
import struct
import subprocess
import time
from typing import IO, Any

import orjson

__all__ = ["HOST_STARTUP_ALLOWANCE_S", "FrameReader", "host_stderr", "write_frame", "write_raw_frame"]

# How long a starting host may take to answer its first frame: only a ceiling for a hung start, and
# generous because a loaded machine can take many seconds to start a Python process and V8.
HOST_STARTUP_ALLOWANCE_S = 60.0

_HEADER = struct.Struct(">I")
_READ_SIZE = 1 << 16


def host_stderr() -> int | None:
    """Where a host's stderr goes: the server's own, or nowhere when the server has none open (a
    Python started without descriptor 2 cannot set up its stderr and exits before its first frame)."""
    try:
        os.fstat(2)
    except OSError:
        return subprocess.DEVNULL
    return None


def write_raw_frame(stream: IO[bytes], payload: bytes) -> None:
    """Write one frame of already-encoded JSON and flush it: what was written before a crash has
    reached the other end. Raises `OSError` (`BrokenPipeError` included) when the other end is gone,
    `ValueError` once ``stream`` is closed."""
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def write_frame(stream: IO[bytes], message: Any) -> None:
    write_raw_frame(stream, orjson.dumps(message))


class FrameReader:
    """Reads frames from a pipe, keeping what arrived past the current frame for the next one.

    Reads go straight to the pipe's descriptor (``select`` needs it), so nothing else may read
    ``stream``; once it is closed, reads raise `ValueError`.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = bytearray()

    def read_raw(self, deadline: float | None = None) -> bytes:
        """The next frame's bytes. Raises `EOFError` when the other end closed the pipe, and
        `TimeoutError` when the frame is not complete by ``deadline`` (a ``time.monotonic()`` value;
        None waits)."""
        self._fill(_HEADER.size, deadline)
        (length,) = _HEADER.unpack_from(self._buffer)
        end = _HEADER.size + length
        self._fill(end, deadline)
        # Taken only once whole, so that a frame cut short by the deadline can still be read later.
        payload = bytes(self._buffer[_HEADER.size:end])
        del self._buffer[:end]
        return payload

    def read(self, deadline: float | None = None) -> Any:
        """The next message (see `read_raw`)."""
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
