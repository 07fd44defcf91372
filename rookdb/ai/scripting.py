"""Running an embeddings task's JavaScript against a document, within a time and a memory limit.

The script sees the document (with ``@metadata``) as ``this`` and RavenDB's script API (reference
§2.4-2.5): ``text.split``/``splitLines``/``splitParagraphs``, ``markdown.splitLines``/
``splitParagraphs``, ``html.strip``, ``.withContextPrefix(prefix)`` on their results, on strings, on
arrays and on ``embeddings.generate({...})``. The helpers only *describe* chunking (``maxTokens``
defaults to 512, ``overlapTokens`` to 0); the texts come back as `FieldSource` values and are chunked
later, in Python.

Rules decided here:

- ``embeddings.generate`` never called: ``ScriptOutput(generated=False)``, nothing to embed.
- Called more than once: merged per field the way RavenDB merges them, i.e. a chunking result
  replaces what earlier calls gave that field and a raw string or array is added to it.
- null/undefined (fields, array elements, helper arguments) are skipped; a field left without text is
  omitted. Other non-string raw values (numbers, objects) are errors, as in RavenDB.
- Context prefix: a value's own prefix wins over the prefix of the array holding it, which wins over
  the one on ``embeddings.generate(...)``. Prefixes come back with trailing whitespace trimmed.

Engine: each `EmbeddingsScript` owns one V8 context (mini-racer) holding the prelude
(``_script_prelude.js``) and the compiled script; a document is one call into it, passed and answered
as JSON. The context is guarded by a lock, so runs of one compiled script from several threads are
serialized; give each worker its own `EmbeddingsScript` to run in parallel. After a time-out, a
memory blow-up or any other engine failure the context is dropped and rebuilt on the next run.
Calls are synchronous: from async code, call from a worker thread.

Limits of the sandbox: a builtin working on a huge array (``new Array(1e8).fill(0)``) cannot be
interrupted, so its engine is closed in the background while ``run`` returns at the time limit; V8
aborts the whole process on a few allocations past its internal size limits (``new
Array(3e8).fill(0)``), which only running scripts in a child process would contain. Timers are not
available, and ``embeddings.generate`` called from a promise callback runs after the document is done
and is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from types import TracebackType
from typing import Any, Literal, Self, get_args

import orjson
from py_mini_racer import MiniRacer
from py_mini_racer._dll import LibAlreadyInitializedError, LibNotFoundError
from py_mini_racer._exc import (
    JSArrayIndexError,
    JSConversionException,
    JSEvalException,
    JSKeyError,
    JSOOMException,
    JSParseException,
    JSPromiseError,
    JSTerminatedException,
    JSTimeoutException,
    JSValueError,
    MiniRacerBaseException,
    WrongReturnTypeException,
)

from rookdb.errors import RookError, ScriptError

__all__ = [
    "CHUNKING_METHODS",
    "ChunkingMethod",
    "ChunkingRequest",
    "EmbeddingsScript",
    "FieldSource",
    "ScriptOutput",
    "clear_script_cache",
    "run_embeddings_script",
]

ChunkingMethod = Literal[
    "PlainTextSplit",
    "PlainTextSplitLines",
    "PlainTextSplitParagraphs",
    "MarkDownSplitLines",
    "MarkDownSplitParagraphs",
    "HtmlStrip",
]
CHUNKING_METHODS: frozenset[str] = frozenset(get_args(ChunkingMethod))

# Compiled scripts kept by run_embeddings_script; a task uses one, a few tasks share the process.
_MAX_CACHED_SCRIPTS = 16

_SCRIPT_SOURCE = "embeddings-script.js"
_PRELUDE_SOURCE = "rookdb-embeddings-prelude.js"
# The user's script starts on the wrapper's first line, so engine line numbers are the script's own.
_WRAPPER_HEAD = "__rookdbInstall(function () {"
_PRELUDE = (
    resources.files(__package__).joinpath("_script_prelude.js").read_text("utf-8")
    + f"\n//# sourceURL={_PRELUDE_SOURCE}\n"
)
_STACK_LOCATION = re.compile(re.escape(_SCRIPT_SOURCE) + r":(\d+):(\d+)")
_ENGINE_LOCATION = re.compile(r"^(?P<source>[^\n]*?):(?P<line>\d+): (?P<message>[^\n]*)")


@dataclass(frozen=True)
class ChunkingRequest:
    """How the script asked for texts to be chunked, e.g. ``text.splitParagraphs(x, 2048, 128)``."""

    method: ChunkingMethod
    max_tokens: int
    overlap_tokens: int


@dataclass(frozen=True)
class FieldSource:
    """Texts for one field, how to chunk them and their context prefix.

    ``chunking`` is None for a raw value (``Name: this.Name``): chunk it with the task's default
    options. ``context_prefix`` is already resolved by precedence, trailing whitespace trimmed.
    """

    texts: tuple[str, ...]
    chunking: ChunkingRequest | None
    context_prefix: str | None


@dataclass(frozen=True)
class ScriptOutput:
    """What one document's run asked to embed: field name → its sources, in the script's order.

    A field usually has one source; an array mixing helpers (``[html.strip(a), markdown.splitLines(b)]``)
    or repeated ``embeddings.generate`` calls can give it several.
    """

    generated: bool
    fields: Mapping[str, tuple[FieldSource, ...]] = field(default_factory=dict)


# Every mini-racer exception, most specific first in effect (lookup walks the MRO): the error
# rookdb raises and what to say. Engine-level failures that are not the script's fault are 500s.
_ENGINE_ERRORS: dict[type[Exception], tuple[type[RookError], str]] = {
    JSTimeoutException: (ScriptError, "exceeded its time limit of {time_limit_ms} ms"),
    JSOOMException: (ScriptError, "exceeded its memory limit of {memory_limit_bytes} bytes"),
    JSTerminatedException: (ScriptError, "was terminated by the JavaScript engine"),
    JSParseException: (ScriptError, "has a syntax error"),
    JSKeyError: (ScriptError, "failed"),
    JSValueError: (ScriptError, "failed"),
    JSEvalException: (ScriptError, "failed"),
    JSPromiseError: (ScriptError, "failed: a promise was rejected"),
    JSArrayIndexError: (ScriptError, "failed: an array index is out of range"),
    JSConversionException: (ScriptError, "produced a value that cannot be read"),
    WrongReturnTypeException: (ScriptError, "produced a value that cannot be read"),
    LibNotFoundError: (RookError, "cannot run: the JavaScript engine is not installed"),
    LibAlreadyInitializedError: (RookError, "cannot run: the JavaScript engine failed to initialize"),
    MiniRacerBaseException: (RookError, "cannot run: the JavaScript engine failed"),
}

_LIMIT_ERRORS = (JSTimeoutException, JSOOMException, JSTerminatedException)


def _location(line: int, column: int | None = None) -> str:
    if column is None:
        return f" at line {line}"
    if line == 1:
        column -= len(_WRAPPER_HEAD)
    return f" at line {line}, column {column}"


def _translate(
    error: MiniRacerBaseException, *, time_limit_ms: int, memory_limit_bytes: int, memory_exhausted: bool
) -> RookError:
    """Map a mini-racer exception to the rookdb error to raise (chained by the caller)."""
    if memory_exhausted and isinstance(error, JSEvalException) and not isinstance(error, _LIMIT_ERRORS):
        # Hitting the hard limit surfaces as a bare JSEvalException ("null"), not JSOOMException.
        error_class, problem = _ENGINE_ERRORS[JSOOMException]
    else:
        kind = next(k for k in type(error).__mro__ if k in _ENGINE_ERRORS)
        error_class, problem = _ENGINE_ERRORS[kind]
    problem = problem.format(time_limit_ms=time_limit_ms, memory_limit_bytes=memory_limit_bytes)
    detail = ""
    if isinstance(error, JSEvalException) and not isinstance(error, _LIMIT_ERRORS) and not memory_exhausted:
        text = str(error)
        match = _ENGINE_LOCATION.match(text)
        if match is not None:
            problem += _location(int(match["line"]))
            detail = match["message"]
        else:
            detail = text.strip().split("\n", 1)[0]
    return error_class(f"Embeddings script {problem}" + (f": {detail}" if detail else ""))


def _script_failure(error: Mapping[str, Any]) -> ScriptError:
    """A JavaScript error caught in the prelude, with the line of the script's frame on the stack."""
    where = ""
    match = _STACK_LOCATION.search(str(error.get("stack", "")))
    if match is not None:
        where = _location(int(match[1]), int(match[2]))
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


def _new_racer() -> MiniRacer:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return MiniRacer()
    # Built inside a running event loop, mini-racer adopts that loop and then refuses synchronous
    # calls with a time limit; build it where no loop runs so it gets its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(MiniRacer).result()


class EmbeddingsScript:
    """One compiled embeddings script, run once per document; safe to share between threads.

    Construction compiles the script (raises `ScriptError` on a syntax error). ``run`` raises
    `ScriptError` when the script throws, breaks a helper's argument rules, runs past
    ``time_limit_ms`` or grows the engine's heap past ``memory_limit_bytes`` (the whole V8 heap,
    prelude included, so allow a few MB).
    """

    def __init__(self, script: str, *, time_limit_ms: int, memory_limit_bytes: int) -> None:
        if time_limit_ms <= 0:
            raise ValueError(f"time_limit_ms must be positive, got {time_limit_ms}")
        if memory_limit_bytes <= 0:
            raise ValueError(f"memory_limit_bytes must be positive, got {memory_limit_bytes}")
        if not script.strip():
            raise ScriptError("Embeddings script is empty: it must call embeddings.generate({...})")
        self.script = script
        self.time_limit_ms = time_limit_ms
        self.memory_limit_bytes = memory_limit_bytes
        self._lock = threading.Lock()
        with self._lock:
            self._racer: MiniRacer | None = self._build()

    def run(self, document: Mapping[str, Any]) -> ScriptOutput:
        """Run the script with ``this`` bound to ``document`` and return what it asked to embed."""
        try:
            argument = orjson.dumps(orjson.dumps(document).decode()).decode()
        except orjson.JSONEncodeError as error:
            raise ScriptError(f"Embeddings script cannot run: the document is not JSON ({error})") from error
        with self._lock:
            racer = self._racer if self._racer is not None else self._build()
            self._racer = racer
            try:
                answer = racer.eval(f"__rookdbRun({argument})", timeout_sec=self.time_limit_ms / 1000)
            except MiniRacerBaseException as error:
                translated = self._translate(racer, error)
                self._discard(after_failure=True)
                raise translated from error
            if racer.was_hard_memory_limit_reached():
                # The run fit, but the heap is at its limit: the next one would fail for nothing.
                self._discard()
        try:
            result = orjson.loads(answer) if isinstance(answer, str) else None
        except orjson.JSONDecodeError as error:
            raise _unreadable() from error
        if not isinstance(result, dict):
            raise _unreadable()
        if result.get("ok") is not True:
            error_details = result.get("error")
            raise _script_failure(error_details if isinstance(error_details, dict) else {})
        return _decode_output(result.get("output"))

    def close(self) -> None:
        """Free the engine now; a later ``run`` rebuilds it (so closing never races a run)."""
        with self._lock:
            self._discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _build(self) -> MiniRacer:
        timeout_sec = self.time_limit_ms / 1000
        racer: MiniRacer | None = None
        try:
            racer = _new_racer()
            racer.set_hard_memory_limit(self.memory_limit_bytes)
            racer.eval(_PRELUDE, timeout_sec=timeout_sec)
            racer.eval(
                f"{_WRAPPER_HEAD}{self.script}\n}})\n//# sourceURL={_SCRIPT_SOURCE}\n",
                timeout_sec=timeout_sec,
            )
            problem = racer.eval(
                f"__rookdbCheckBody({orjson.dumps(self.script).decode()})", timeout_sec=timeout_sec
            )
        except MiniRacerBaseException as error:
            translated = self._translate(racer, error)
            if racer is not None:
                # A syntax error leaves nothing running; code that broke out of the wrapper may.
                _close(racer, after_failure=not isinstance(error, JSParseException))
            raise translated from error
        except BaseException:
            if racer is not None:
                _close(racer, after_failure=True)
            raise
        if problem is not None:
            # The wrapped source compiled but the script alone does not: an unbalanced '}' closed the
            # function it is installed as (V8 only says "Single function literal required").
            _close(racer, after_failure=False)
            raise ScriptError("Embeddings script has a syntax error: an unbalanced '}' ends the script early")
        return racer

    def _translate(self, racer: MiniRacer | None, error: MiniRacerBaseException) -> RookError:
        exhausted = racer is not None and racer.was_hard_memory_limit_reached()
        return _translate(
            error,
            time_limit_ms=self.time_limit_ms,
            memory_limit_bytes=self.memory_limit_bytes,
            memory_exhausted=exhausted,
        )

    def _discard(self, *, after_failure: bool = False) -> None:
        racer, self._racer = self._racer, None
        if racer is not None:
            _close(racer, after_failure=after_failure)


def _close(racer: MiniRacer, *, after_failure: bool) -> None:
    if not after_failure:
        racer.close()
        return

    # The failed call may still be finishing inside V8 (a builtin such as Array.prototype.fill on a
    # huge array cannot be interrupted), and its late completion would hit a closed event loop.
    # The engine runs calls in order, so one more call waits it out: off the caller's thread, so a
    # run still returns at its time limit.
    def drain_and_close() -> None:
        with contextlib.suppress(MiniRacerBaseException):
            racer.eval("0")
        racer.close()

    threading.Thread(target=drain_and_close, name="rookdb-script-engine-close", daemon=True).start()


_cache: OrderedDict[tuple[str, int, int], EmbeddingsScript] = OrderedDict()
_cache_lock = threading.Lock()


def run_embeddings_script(
    script: str, document: Mapping[str, Any], *, time_limit_ms: int, memory_limit_bytes: int
) -> ScriptOutput:
    """Run ``script`` against ``document``, reusing the compiled script of earlier calls.

    Compiled scripts are cached per (script, limits), least recently used dropped past
    ``_MAX_CACHED_SCRIPTS``. Raises `ScriptError` as `EmbeddingsScript` does.
    """
    key = (script, time_limit_ms, memory_limit_bytes)
    with _cache_lock:
        compiled = _cache.get(key)
        if compiled is not None:
            _cache.move_to_end(key)
    if compiled is None:
        # Compiled outside the cache lock: a slow or broken script must not stall other tasks.
        fresh = EmbeddingsScript(script, time_limit_ms=time_limit_ms, memory_limit_bytes=memory_limit_bytes)
        evicted: list[EmbeddingsScript] = []
        with _cache_lock:
            compiled = _cache.setdefault(key, fresh)
            _cache.move_to_end(key)
            while len(_cache) > _MAX_CACHED_SCRIPTS:
                evicted.append(_cache.popitem(last=False)[1])
        if compiled is not fresh:
            evicted.append(fresh)
        for old in evicted:
            old.close()
    return compiled.run(document)


def clear_script_cache() -> None:
    """Drop every compiled script kept by `run_embeddings_script` and free their engines."""
    with _cache_lock:
        scripts = list(_cache.values())
        _cache.clear()
    for compiled in scripts:
        compiled.close()
