"""The script host: the child process that runs one script for a `HostedScript` (an embeddings
script, or with ``"engine": "index"`` in the first frame an index's JavaScript).

Started as ``python -I -m rookdb.ai.scripting._host``; speaks the conversation described in
``_frames.py`` on its stdin/stdout. It exits after an answer with ``restart`` set, so the server
sends the rest of the batch to a fresh host. If V8 aborts, the process dies and the server notices
the end of the pipe.
"""

from __future__ import annotations

import os
import sys

from rookdb.ai.scripting._engine import Engine
from rookdb.ai.scripting._frames import error_to_wire, write_frame
from rookdb.errors import RookError
from rookdb.frames import host_pipes

__all__ = ["main"]


def main() -> int:
    """Serve one script until the server closes stdin; returns the exit status."""
    requests, answers = host_pipes()
    try:
        hello = requests.read()
    except EOFError:
        return 0
    if not isinstance(hello, dict):
        return 0
    try:
        engine_class = Engine
        if hello.get("engine") == "index":
            from rookdb.ai.scripting.index_engine import IndexEngine

            engine_class = IndexEngine  # type: ignore[assignment]
        engine = engine_class(
            str(hello["script"]),
            time_limit_ms=int(hello["time_limit_ms"]),
            memory_limit_bytes=int(hello["memory_limit_bytes"]),
        )
    except RookError as error:
        write_frame(answers, {"error": error_to_wire(error)})
        return 0
    write_frame(answers, {"ok": True})
    while True:
        try:
            request = requests.read()
        except EOFError:
            return 0
        for document_json in request["documents"]:
            try:
                write_frame(answers, {"answer": engine.evaluate(document_json), "restart": engine.spent})
            except RookError as error:
                write_frame(answers, {"error": error_to_wire(error), "restart": True})
            if engine.spent:
                # Skip V8's teardown: a builtin that ignored the time limit may still be running.
                os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
