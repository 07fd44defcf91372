"""The wire between the server and a script host, used by both ends: length-prefixed JSON frames on a
pipe, and errors carried across it.

Each frame is a 4-byte big-endian length, then that many bytes of JSON. The conversation:

- server → host, once: ``{"script": ..., "time_limit_ms": ..., "memory_limit_bytes": ...}``;
  the host answers ``{"ok": true}`` or ``{"error": <error>}`` (the script does not compile).
- server → host, per batch: ``{"documents": [<document JSON text>, ...]}``; the host answers one
  frame per document, in order: ``{"answer": <prelude answer>, "restart": bool}`` or
  ``{"error": <error>, "restart": true}``. After a frame with ``restart`` set the host exits.
"""

from __future__ import annotations

import os
import select
import struct
import time
from collections.abc import Mapping
from typing import IO, Any

import orjson

from rookdb.ai.scripting._engine import ENGINE_ERRORS
from rookdb.errors import RookError, ScriptError

__all__ = ["FrameReader", "error_from_wire", "error_to_wire", "write_frame"]

_HEADER = struct.Struct(">I")
_READ_SIZE = 1 << 16
_ENGINE_EXCEPTIONS_BY_NAME = {kind.__name__: kind for kind in ENGINE_ERRORS}


def write_frame(stream: IO[bytes], message: Any) -> None:
    """Write one frame and flush it: what was written before a crash has reached the other end.

    Raises `OSError` (`BrokenPipeError` included) when the other end is gone, `ValueError` once
    ``stream`` is closed.
    """
    payload = orjson.dumps(message)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


class FrameReader:
    """Reads frames from a pipe, keeping what arrived past the current frame for the next one.

    Reads go straight to the pipe's descriptor (``select`` needs it), so nothing else may read
    ``stream``; once it is closed, `read` raises `ValueError`.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = bytearray()

    def read(self, deadline: float | None = None) -> Any:
        """The next message. Raises `EOFError` when the other end closed the pipe, and `TimeoutError`
        when the frame is not complete by ``deadline`` (a ``time.monotonic()`` value; None waits)."""
        self._fill(_HEADER.size, deadline)
        (length,) = _HEADER.unpack_from(self._buffer)
        end = _HEADER.size + length
        self._fill(end, deadline)
        # Taken only once whole, so that a frame cut short by the deadline can still be read later.
        payload = bytes(self._buffer[_HEADER.size:end])
        del self._buffer[:end]
        return orjson.loads(payload)

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


def error_to_wire(error: RookError) -> dict[str, Any]:
    cause = error.__cause__
    return {
        "script": isinstance(error, ScriptError),
        "message": error.message,
        "cause": type(cause).__name__ if cause is not None else None,
        "cause_text": str(cause) if cause is not None else "",
    }


def error_from_wire(raw: Mapping[str, Any]) -> RookError:
    """Rebuild a host's error, chained to a copy of the engine exception behind it."""
    error = (ScriptError if raw.get("script") else RookError)(str(raw.get("message", "")))
    kind = _ENGINE_EXCEPTIONS_BY_NAME.get(str(raw.get("cause")))
    if kind is not None:
        # Some engine exceptions take other constructor arguments; only the class and text matter.
        cause = kind.__new__(kind)
        Exception.__init__(cause, str(raw.get("cause_text", "")))
        error.__cause__ = cause
    return error
