"""The conversation between the server and an embeddings script host, over `rookdb.frames`, and the
errors carried across it.

- server → host, once: ``{"script": ..., "time_limit_ms": ..., "memory_limit_bytes": ...}``;
  the host answers ``{"ok": true}`` or ``{"error": <error>}`` (the script does not compile).
- server → host, per batch: ``{"documents": [<document JSON text>, ...]}``; the host answers one
  frame per document, in order: ``{"answer": <prelude answer>, "restart": bool}`` or
  ``{"error": <error>, "restart": true}``. After a frame with ``restart`` set the host exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.ai.scripting._engine import ENGINE_ERRORS
from rookdb.errors import RookError, ScriptError
from rookdb.frames import FrameReader, write_frame

__all__ = ["FrameReader", "error_from_wire", "error_to_wire", "write_frame"]

_ENGINE_EXCEPTIONS_BY_NAME = {kind.__name__: kind for kind in ENGINE_ERRORS}


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
