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

Engine: each `EmbeddingsScript` runs its script in its own script host, a child process
(``python -m rookdb.ai.script_host``) holding one V8 context (mini-racer) with the prelude
(``_script_prelude.js``) and the compiled script, because V8 aborts the whole process on a few
allocations past its internal size limits (``new Array(3e8).fill(0)``): a bad script must be a task
error, not a crashed server. The host is started with the script and its limits only (no
environment), compiles once, then takes batches of documents as JSON and answers document by
document over length-prefixed JSON frames on its stdin/stdout. When the host dies, the document it
was on gets a `ScriptError` and the others go to a fresh host; the time limit is enforced in the
host, and a watchdog here kills a host that stays silent past it. After a time-out, a memory
blow-up or any other engine failure the host exits and the next document gets a fresh one.

Limits of the sandbox: timers are not available, and ``embeddings.generate`` called from a promise
callback runs after the document is done and is ignored. Hosts run on POSIX (``select`` on pipes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
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


def _decode_answer(answer: str) -> ScriptOutput | ScriptError:
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


# --- the engine, as run inside the script host process ---


class _Engine:
    """One V8 context holding the prelude and the compiled script; lives in the script host only.

    Construction compiles (raises the translated `RookError`, chained). ``evaluate`` returns the
    prelude's JSON answer; after an engine failure, or once the heap reached its limit, ``spent`` is
    set and the host exits so that the next document gets a fresh process (a builtin that ignored
    the time limit may still be running, and a full heap would fail the next run for nothing).
    """

    def __init__(self, script: str, *, time_limit_ms: int, memory_limit_bytes: int) -> None:
        self.time_limit_ms = time_limit_ms
        self.memory_limit_bytes = memory_limit_bytes
        self.spent = False
        self._timeout_sec = time_limit_ms / 1000
        self._racer = MiniRacer()
        try:
            self._racer.set_hard_memory_limit(memory_limit_bytes)
            self._racer.eval(_PRELUDE, timeout_sec=self._timeout_sec)
            self._racer.eval(
                f"{_WRAPPER_HEAD}{script}\n}})\n//# sourceURL={_SCRIPT_SOURCE}\n", timeout_sec=self._timeout_sec
            )
            problem = self._racer.eval(
                f"__rookdbCheckBody({orjson.dumps(script).decode()})", timeout_sec=self._timeout_sec
            )
        except MiniRacerBaseException as error:
            raise self._translate(error) from error
        if problem is not None:
            # The wrapped source compiled but the script alone does not: an unbalanced '}' closed the
            # function it is installed as (V8 only says "Single function literal required").
            raise ScriptError("Embeddings script has a syntax error: an unbalanced '}' ends the script early")

    def evaluate(self, document_json: str) -> str:
        """Run the script with ``this`` bound to the document given as JSON text."""
        argument = orjson.dumps(document_json).decode()
        try:
            answer = self._racer.eval(f"__rookdbRun({argument})", timeout_sec=self._timeout_sec)
        except MiniRacerBaseException as error:
            self.spent = True
            raise self._translate(error) from error
        self.spent = self._racer.was_hard_memory_limit_reached()
        return answer if isinstance(answer, str) else ""

    def _translate(self, error: MiniRacerBaseException) -> RookError:
        return _translate(
            error,
            time_limit_ms=self.time_limit_ms,
            memory_limit_bytes=self.memory_limit_bytes,
            memory_exhausted=self._racer.was_hard_memory_limit_reached(),
        )


# --- the wire between the server and the script host ---

# Each message is a 4-byte big-endian length, then that many bytes of JSON.
_FRAME = struct.Struct(">I")
_ENGINE_EXCEPTIONS_BY_NAME = {kind.__name__: kind for kind in _ENGINE_ERRORS}


def _error_to_wire(error: RookError) -> dict[str, Any]:
    cause = error.__cause__
    return {
        "script": isinstance(error, ScriptError),
        "message": error.message,
        "cause": type(cause).__name__ if cause is not None else None,
        "cause_text": str(cause) if cause is not None else "",
    }


def _error_from_wire(raw: Mapping[str, Any]) -> RookError:
    """Rebuild a host's error, chained to a copy of the engine exception behind it."""
    error = (ScriptError if raw.get("script") else RookError)(str(raw.get("message", "")))
    kind = _ENGINE_EXCEPTIONS_BY_NAME.get(str(raw.get("cause")))
    if kind is not None:
        # Some engine exceptions take other constructor arguments; only the class and text matter.
        cause = kind.__new__(kind)
        Exception.__init__(cause, str(raw.get("cause_text", "")))
        error.__cause__ = cause
    return error


# --- the server side: one script host process per EmbeddingsScript ---

_HOST_MODULE = "rookdb.ai.script_host"
# Starting Python and the engine takes ~0.15 s on an idle machine; allow for a loaded one.
_STARTUP_ALLOWANCE_S = 30.0
# Beyond the script's own time limit (enforced inside the host), before the watchdog kills the host.
_WATCHDOG_MARGIN_S = 5.0
_CRASHED = "Embeddings script crashed the JavaScript engine (out of memory?) on this document"
_CRASHED_ON_COMPILE = "Embeddings script crashed the JavaScript engine (out of memory?) while compiling"
_CLOSED = "Embeddings script was not run: the script was closed during the batch"
_READ_SIZE = 1 << 16

_log = logging.getLogger(__name__)


class _HostLost(Exception):
    """The host died (exit, signal, closed pipe) or, with ``hung``, was killed by the watchdog."""

    def __init__(self, *, hung: bool) -> None:
        super().__init__("hung" if hung else "died")
        self.hung = hung


def _reap(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    if process.poll() is None:
        process.kill()
    process.wait()


class _Host:
    """One script host process and the framed pipe to it; killed and reaped by ``stop`` or on GC."""

    def __init__(self) -> None:
        # Only the interpreter's own path travels: no environment (secrets), no inherited files,
        # and -I keeps the server's working directory and PYTHON* variables out of the import path.
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", _HOST_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={},
            cwd="/",
            close_fds=True,
        )
        self.fresh = True
        self._finalizer = weakref.finalize(self, _reap, self.process)
        self._buffer = bytearray()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: Any) -> None:
        payload = orjson.dumps(message)
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(_FRAME.pack(len(payload)) + payload)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as error:
            raise _HostLost(hung=False) from error

    def receive(self, timeout_s: float) -> Any:
        """The next message; the host is killed if it does not come within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        header = self._read(_FRAME.size, deadline)
        (length,) = _FRAME.unpack(header)
        return orjson.loads(self._read(length, deadline))

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        while len(self._buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
                self.stop()
                raise _HostLost(hung=True)
            chunk = os.read(descriptor, _READ_SIZE)
            if not chunk:
                self.stop()
                raise _HostLost(hung=False)
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def stop(self) -> None:
        self._finalizer()


class EmbeddingsScript:
    """One compiled embeddings script, run in its own script host process; safe to share between threads.

    Construction starts the host and compiles the script there (raises `ScriptError` on a syntax
    error). A document fails with `ScriptError` when the script throws, breaks a helper's argument
    rules, runs past ``time_limit_ms``, grows the engine's heap past ``memory_limit_bytes`` (the
    whole V8 heap, prelude included, so allow a few MB) or crashes the engine: the host is then
    replaced and the server lives on. Runs are serialized; give each worker its own script.
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
        self._lock = threading.Lock()  # one batch at a time
        self._host_lock = threading.Lock()  # guards _host and _generation, so close() never waits
        self._host: _Host | None = None
        self._generation = 0
        with self._lock:
            self._host = self._start()

    @property
    def host_pid(self) -> int | None:
        """The process id of the running script host, if one runs."""
        host = self._host
        return host.pid if host is not None else None

    def run(self, document: Mapping[str, Any]) -> ScriptOutput:
        """Run the script with ``this`` bound to ``document`` and return what it asked to embed."""
        (result,) = self.run_many([document])
        if isinstance(result, ScriptError):
            raise result
        return result

    def run_many(self, documents: Sequence[Mapping[str, Any]]) -> list[ScriptOutput | ScriptError]:
        """Run the script on each document in one round trip: one output or `ScriptError` each.

        Raises a plain `RookError` only when the engine itself cannot run (not the script's fault).
        """
        results: list[ScriptOutput | ScriptError | None] = [None] * len(documents)
        pending: list[tuple[int, str]] = []
        for index, document in enumerate(documents):
            try:
                pending.append((index, orjson.dumps(document).decode()))
            except orjson.JSONEncodeError as error:
                failure = ScriptError(f"Embeddings script cannot run: the document is not JSON ({error})")
                failure.__cause__ = error
                results[index] = failure
        with self._lock:
            generation = self._generation
            # Each pass answers at least one document or ends the loop, so restarts are bounded by
            # the batch size; a host that cannot compile fails every remaining document at once.
            while pending:
                try:
                    host = self._host_for(generation)
                except ScriptError as error:
                    for index, _ in pending:
                        results[index] = error
                    break
                answered = self._run_on(host, pending, results, generation)
                pending = pending[answered:]
        return [r if r is not None else ScriptError(_CLOSED) for r in results]

    def close(self) -> None:
        """Stop the host now (a batch running meanwhile ends early); a later run starts a new one."""
        with self._host_lock:
            host, self._host = self._host, None
            self._generation += 1
        if host is not None:
            host.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> _Host:
        """A new host with the script compiled in it; raises the compile error."""
        host = _Host()
        try:
            host.send(
                {
                    "script": self.script,
                    "time_limit_ms": self.time_limit_ms,
                    "memory_limit_bytes": self.memory_limit_bytes,
                }
            )
            # Compiling is three engine calls, each under the time limit.
            reply = host.receive(_STARTUP_ALLOWANCE_S + 3 * self.time_limit_ms / 1000)
        except _HostLost as lost:
            host.stop()
            if lost.hung:
                raise ScriptError(f"Embeddings script exceeded its time limit of {self.time_limit_ms} ms") from None
            raise ScriptError(_CRASHED_ON_COMPILE) from None
        if not isinstance(reply, dict) or "error" in reply:
            host.stop()
            raise _error_from_wire(reply.get("error", {}) if isinstance(reply, dict) else {})
        return host

    def _host_for(self, generation: int) -> _Host:
        with self._host_lock:
            if self._generation != generation:
                raise ScriptError(_CLOSED)
            if self._host is not None:
                return self._host
        host = self._start()
        with self._host_lock:
            if self._generation == generation:
                self._host = host
                return host
        host.stop()
        raise ScriptError(_CLOSED)

    def _drop(self, host: _Host) -> None:
        with self._host_lock:
            if self._host is host:
                self._host = None
        host.stop()

    def _run_on(
        self,
        host: _Host,
        pending: list[tuple[int, str]],
        results: list[ScriptOutput | ScriptError | None],
        generation: int,
    ) -> int:
        """Send ``pending`` to ``host`` and store its answers; returns how many documents are done.

        The host answers document by document, so when it dies the culprit is the first document
        without an answer: it gets the crash error and the rest go to a fresh host.
        """
        try:
            host.send({"documents": [text for _, text in pending]})
        except _HostLost:
            self._drop(host)
            # A host that died idle (killed from outside) is no document's fault: retry once on a
            # fresh one; a fresh one dying on the batch's first document means that document.
            if not host.fresh:
                return 0
            results[pending[0][0]] = ScriptError(_CRASHED)
            return 1
        host.fresh = False
        for done, (index, _) in enumerate(pending):
            try:
                reply = host.receive(self.time_limit_ms / 1000 + _WATCHDOG_MARGIN_S)
            except _HostLost as lost:
                self._drop(host)
                if self._generation != generation:
                    return len(pending)  # closed: the rest stay unanswered
                _log.warning("Embeddings script host %d %s on a document", host.pid,
                             "was killed by the watchdog" if lost.hung else f"died ({host.process.returncode})")
                results[index] = ScriptError(
                    f"Embeddings script exceeded its time limit of {self.time_limit_ms} ms"
                    if lost.hung else _CRASHED
                )
                return done + 1
            if "error" in reply:
                error = _error_from_wire(reply["error"])
                if not isinstance(error, ScriptError):
                    self._drop(host)
                    raise error
                results[index] = error
            else:
                results[index] = _decode_answer(str(reply.get("answer", "")))
            if reply.get("restart"):
                # The host exits after this answer; the next documents go to a fresh one.
                self._drop(host)
                return done + 1
        return len(pending)


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
