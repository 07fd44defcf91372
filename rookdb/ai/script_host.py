"""The script host: the child process that runs one embeddings script for an `EmbeddingsScript`.

Started as ``python -I -m rookdb.ai.script_host``. It reads the script and its limits, compiles
them (answering ``{"ok": true}`` or ``{"error": ...}``), then answers each ``{"documents": [json,
...]}`` request with one message per document: ``{"answer": ..., "restart": bool}`` or ``{"error":
..., "restart": true}``. After a message with ``restart`` set it exits, so the server sends the rest
of the batch to a fresh host. If V8 aborts, the process dies and the server notices the EOF.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import orjson

from rookdb.ai.scripting import _FRAME, _Engine, _error_to_wire
from rookdb.errors import RookError

__all__ = ["main"]


def _read_exact(descriptor: int, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(descriptor, size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _receive(descriptor: int) -> Any:
    """The next message, or None once the server closed the pipe."""
    header = _read_exact(descriptor, _FRAME.size)
    if header is None:
        return None
    (length,) = _FRAME.unpack(header)
    payload = _read_exact(descriptor, length)
    return None if payload is None else orjson.loads(payload)


def _send(descriptor: int, message: Any) -> None:
    payload = orjson.dumps(message)
    # One write per document, unbuffered: what was answered before a crash has reached the server.
    os.write(descriptor, _FRAME.pack(len(payload)) + payload)


def main() -> int:
    """Serve one script until the server closes stdin; returns the exit status."""
    requests = sys.stdin.fileno()
    # Anything printed to stdout by accident would corrupt the frames: keep the pipe private.
    answers = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    hello = _receive(requests)
    if not isinstance(hello, dict):
        return 0
    try:
        engine = _Engine(
            str(hello["script"]),
            time_limit_ms=int(hello["time_limit_ms"]),
            memory_limit_bytes=int(hello["memory_limit_bytes"]),
        )
    except RookError as error:
        _send(answers, {"error": _error_to_wire(error)})
        return 0
    _send(answers, {"ok": True})
    while (request := _receive(requests)) is not None:
        for document_json in request["documents"]:
            try:
                _send(answers, {"answer": engine.evaluate(document_json), "restart": engine.spent})
            except RookError as error:
                _send(answers, {"error": _error_to_wire(error), "restart": True})
            if engine.spent:
                # Skip V8's teardown: a builtin that ignored the time limit may still be running.
                os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
