"""The contract with the JavaScript prelude (``_prelude.js``): how a script is wrapped, and how its
answer for one document is read back into a `ScriptOutput` or a `ScriptError`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import orjson

from rookdb.ai.scripting.output import CHUNKING_METHODS, ChunkingRequest, FieldSource, ScriptOutput
from rookdb.errors import ScriptError

__all__ = ["PRELUDE", "SCRIPT_SOURCE", "WRAPPER_HEAD", "decode_answer", "location", "wrap"]

SCRIPT_SOURCE = "embeddings-script.js"
_PRELUDE_SOURCE = "rookdb-embeddings-prelude.js"
# The user's script starts on the wrapper's first line, so engine line numbers are the script's own.
WRAPPER_HEAD = "__rookdbInstall(function () {"
PRELUDE = (
    resources.files(__package__).joinpath("_prelude.js").read_text("utf-8")
    + f"\n//# sourceURL={_PRELUDE_SOURCE}\n"
)
_STACK_LOCATION = re.compile(re.escape(SCRIPT_SOURCE) + r":(\d+):(\d+)")


def wrap(script: str) -> str:
    """The source that installs ``script`` as the function the prelude runs per document."""
    return f"{WRAPPER_HEAD}{script}\n}})\n//# sourceURL={SCRIPT_SOURCE}\n"


def location(line: int, column: int | None = None) -> str:
    """`` at line L[, column C]`` in the user's own script, the wrapper's head taken off line 1."""
    if column is None:
        return f" at line {line}"
    if line == 1:
        column -= len(WRAPPER_HEAD)
    return f" at line {line}, column {column}"


def _script_failure(error: Mapping[str, Any]) -> ScriptError:
    """A JavaScript error caught in the prelude, with the line of the script's frame on the stack."""
    where = ""
    match = _STACK_LOCATION.search(str(error.get("stack", "")))
    if match is not None:
        where = location(int(match[1]), int(match[2]))
    name, message = error.get("name", "Error"), error.get("message", "")
    return ScriptError(f"Embeddings script failed{where}: {name}: {message}")


def _unreadable() -> ScriptError:
    # Only reachable if the script tampered with the prelude's own globals.
    return ScriptError("Embeddings script produced a result that cannot be read")


def _decode_source(raw: Any) -> FieldSource:
    if not isinstance(raw, dict):
        raise _unreadable()
    texts, method, prefix = raw.get("texts"), raw.get("method"), raw.get("prefix")
    max_tokens, overlap_tokens = raw.get("maxTokens"), raw.get("overlapTokens")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise _unreadable()
    if prefix is not None and not isinstance(prefix, str):
        raise _unreadable()
    chunking: ChunkingRequest | None = None
    if method is not None:
        if method not in CHUNKING_METHODS or not isinstance(max_tokens, int):
            raise _unreadable()
        if not isinstance(overlap_tokens, int):
            raise _unreadable()
        chunking = ChunkingRequest(method, max_tokens, overlap_tokens)
    return FieldSource(tuple(texts), chunking, prefix)


def _decode_output(raw: Any) -> ScriptOutput:
    if not isinstance(raw, dict) or not isinstance(raw.get("generated"), bool):
        raise _unreadable()
    fields: dict[str, tuple[FieldSource, ...]] = {}
    pairs = raw.get("fields")
    if not isinstance(pairs, list):
        raise _unreadable()
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise _unreadable()
        if not isinstance(pair[1], list):
            raise _unreadable()
        fields[pair[0]] = tuple(_decode_source(source) for source in pair[1])
    return ScriptOutput(generated=raw["generated"], fields=fields)


def decode_answer(answer: str) -> ScriptOutput | ScriptError:
    """Read the prelude's answer for one document: what it asked to embed, or why it failed."""
    try:
        result = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return _unreadable()
    if not isinstance(result, dict):
        return _unreadable()
    if result.get("ok") is not True:
        error_details = result.get("error")
        return _script_failure(error_details if isinstance(error_details, dict) else {})
    try:
        return _decode_output(result.get("output"))
    except ScriptError as error:
        return error
