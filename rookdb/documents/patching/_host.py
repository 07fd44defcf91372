"""The patch host: the child process that runs patch scripts for a `PatchEngine`.

Started as ``python -I -m rookdb.documents.patching._host``; one V8 context (mini-racer) holds the
patch API (``_prelude.js``) and every script compiled so far. The conversation, in frames of
``_frames.py``:

- server → host, once: ``{"time_limit_ms", "memory_limit_bytes"}``; the host answers ``{"ok": true}``.
- ``{"compile": id, "script": text}`` → ``{"ok": true}`` or ``{"error": {...}}`` (a syntax error).
- ``{"forget": id}`` → no answer.
- ``{"patch": id, "args": json, "runs": json}`` → the prelude's JSON answer for the batch as it is, or
  ``{"error": {...}, "restart": true}`` when the batch ran out of time or memory; the host then exits
  so that the next batch gets a fresh engine.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import resources
from typing import IO, Any

import orjson
from py_mini_racer import MiniRacer
from py_mini_racer._exc import JSOOMException, JSTimeoutException, MiniRacerBaseException

from rookdb.frames import FrameReader, host_pipes, write_frame, write_raw_frame

__all__ = ["SCRIPT_SOURCE_PREFIX", "WRAPPER_HEAD", "main"]

SCRIPT_SOURCE_PREFIX = "patch-script-"
# The script starts on the wrapper's first line, so engine line numbers are the script's own; columns
# on that line are shifted by the head.
WRAPPER_HEAD = "__rookdbCompile((function (args) {"
_PRELUDE = resources.files(__package__).joinpath("_prelude.js").read_text("utf-8")
_ENGINE_LOCATION = re.compile(r":(?P<line>\d+): (?P<message>[^\n]*)")


def _compile_error(error: MiniRacerBaseException) -> dict[str, Any]:
    text = str(error)
    match = _ENGINE_LOCATION.search(text)
    if match is None:
        return {"kind": "syntax", "message": text.strip().split("\n", 1)[0]}
    return {"kind": "syntax", "message": match["message"], "line": int(match["line"])}


def _source(script_id: int, script: str) -> str:
    return f"{WRAPPER_HEAD}{script}\n}}), {script_id});\n//# sourceURL={SCRIPT_SOURCE_PREFIX}{script_id}.js\n"


def _serve(racer: MiniRacer, timeout_s: float, requests: FrameReader, answers: IO[bytes]) -> None:
    while True:
        try:
            request = requests.read()
        except EOFError:
            return
        if "forget" in request:
            racer.eval(f"__rookdbForget({int(request['forget'])})")
        elif "compile" in request:
            try:
                racer.eval(_source(int(request["compile"]), str(request["script"])), timeout_sec=timeout_s)
            except JSTimeoutException:
                write_frame(answers, {"error": {"kind": "timeout"}, "restart": True})
                return
            except MiniRacerBaseException as error:
                write_frame(answers, {"error": _compile_error(error)})
                if racer.was_hard_memory_limit_reached():
                    return
                continue
            write_frame(answers, {"ok": True})
        else:
            call = (f"__rookdbPatch({int(request['patch'])}, {orjson.dumps(request['args']).decode()}, "
                    f"{orjson.dumps(request['runs']).decode()})")
            try:
                answer = racer.eval(call, timeout_sec=timeout_s)
            except JSTimeoutException:
                write_frame(answers, {"error": {"kind": "timeout"}, "restart": True})
                return
            except JSOOMException:
                write_frame(answers, {"error": {"kind": "memory"}, "restart": True})
                return
            except MiniRacerBaseException as error:
                kind = "memory" if racer.was_hard_memory_limit_reached() else "engine"
                write_frame(answers, {"error": {"kind": kind, "message": str(error)}, "restart": True})
                return
            write_raw_frame(answers, answer.encode("utf-8") if isinstance(answer, str) else b"[]")
            if racer.was_hard_memory_limit_reached():
                return


def main() -> int:
    """Serve patch scripts until the server closes stdin; returns the exit status."""
    requests, answers = host_pipes()
    try:
        hello = requests.read()
    except EOFError:
        return 0
    racer = MiniRacer()
    racer.set_hard_memory_limit(int(hello["memory_limit_bytes"]))
    racer.eval(_PRELUDE)
    write_frame(answers, {"ok": True})
    _serve(racer, int(hello["time_limit_ms"]) / 1000, requests, answers)
    # Skip V8's teardown: a builtin that ignored the time limit may still be running.
    answers.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
