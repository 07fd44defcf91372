"""`EmbeddingsScript`: one compiled embeddings script, run in its own script host process.

`HostedScript` is the machinery, shared with every script rookdb runs in V8 (index maps and reduces use
it with the host's ``index`` engine): it answers each payload with the engine's raw answer; an
`EmbeddingsScript` reads those answers as `ScriptOutput`.

Each `EmbeddingsScript` runs its script in a child process (``python -m rookdb.ai.scripting._host``)
holding one V8 context with the prelude and the compiled script, because V8 aborts the whole process
on a few allocations past its internal size limits (``new Array(3e8).fill(0)``): a bad script must be
a task error, not a crashed server. The host is started with the script and its limits only (no
environment), compiles once, then takes batches of documents and answers document by document over
the frames of ``_frames.py``. When the host dies, the document it was on gets a `ScriptError` and the
others go to a fresh host; the time limit is enforced in the host, and a watchdog here kills a host
that stays silent past it. After a time-out, a memory blow-up or any other engine failure the host
exits and the next document gets a fresh one. Hosts run on POSIX (``poll`` on pipes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import orjson

from rookdb.ai.scripting._frames import error_from_wire
from rookdb.ai.scripting._prelude import decode_answer
from rookdb.ai.scripting.output import ScriptOutput
from rookdb.errors import ScriptError
from rookdb.frames import HOST_STARTUP_ALLOWANCE_S, HostLost, HostProcess

__all__ = ["EmbeddingsScript", "HostedScript"]

_HOST_MODULE = "rookdb.ai.scripting._host"
# Starting Python and the engine takes ~0.15 s on an idle machine; allow for a loaded one.
# Beyond the script's own time limit (enforced inside the host), before the watchdog kills the host.
_WATCHDOG_MARGIN_S = 5.0
_LABEL = "Embeddings script"
_CRASHED = f"{_LABEL} crashed the JavaScript engine (out of memory?) on this document"
_CRASHED_ON_COMPILE = f"{_LABEL} crashed the JavaScript engine (out of memory?) while compiling"
_CLOSED = f"{_LABEL} was not run: the script was closed during the batch"
_TIMED_OUT = _LABEL + " exceeded its time limit of {time_limit_ms} ms"

_log = logging.getLogger(__name__)


class _Host(HostProcess):
    """A script host; ``fresh`` until it took its first batch."""

    def __init__(self) -> None:
        super().__init__(_HOST_MODULE)
        self.fresh = True


class HostedScript:
    """One script compiled in its own script host process; safe to share between threads.

    ``engine`` names the host's engine (``embeddings``, ``index``); ``label`` starts every error message.
    Construction starts the host and compiles the script there (raises `ScriptError` on a syntax
    error). A payload fails with `ScriptError` when the script throws, runs past ``time_limit_ms``,
    grows the engine's heap past ``memory_limit_bytes`` (the whole V8 heap, prelude included, so allow
    a few MB) or crashes the engine: the host is then replaced and the server lives on. Runs are
    serialized; give each worker its own script.
    """

    def __init__(self, script: str, *, time_limit_ms: int, memory_limit_bytes: int, engine: str = "embeddings",
                 label: str = _LABEL) -> None:
        if time_limit_ms <= 0:
            raise ValueError(f"time_limit_ms must be positive, got {time_limit_ms}")
        if memory_limit_bytes <= 0:
            raise ValueError(f"memory_limit_bytes must be positive, got {memory_limit_bytes}")
        self.script = script
        self.time_limit_ms = time_limit_ms
        self.memory_limit_bytes = memory_limit_bytes
        self.engine = engine
        self.label = label
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

    def run_raw(self, payloads: Sequence[str]) -> list[str | ScriptError]:
        """The engine's answer to each payload (JSON text), or its `ScriptError`, in one round trip.

        Raises a plain `RookError` only when the engine itself cannot run (not the script's fault).
        """
        results: list[str | ScriptError | None] = [None] * len(payloads)
        pending = list(enumerate(payloads))
        with self._lock:
            generation = self._generation
            # Each pass answers at least one payload or ends the loop, so restarts are bounded by
            # the batch size; a host that cannot compile fails every remaining payload at once.
            while pending:
                try:
                    host = self._host_for(generation)
                except ScriptError as error:
                    for index, _ in pending:
                        results[index] = error
                    break
                answered = self._run_on(host, pending, results, generation)
                pending = pending[answered:]
        return [r if r is not None else ScriptError(self._message(_CLOSED)) for r in results]

    def _message(self, template: str) -> str:
        """One of the messages above, about this kind of script."""
        return template.replace(_LABEL, self.label, 1).format(time_limit_ms=self.time_limit_ms)

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
                    "engine": self.engine,
                    "time_limit_ms": self.time_limit_ms,
                    "memory_limit_bytes": self.memory_limit_bytes,
                }
            )
            # Compiling is three engine calls, each under the time limit.
            reply = host.receive(HOST_STARTUP_ALLOWANCE_S + 3 * self.time_limit_ms / 1000)
        except HostLost as lost:
            if lost.hung:
                raise ScriptError(self._message(_TIMED_OUT)) from None
            _log.warning("%s host %d died while compiling (%s)", self.label, host.pid, lost.report)
            raise ScriptError(self._message(_CRASHED_ON_COMPILE) + f" ({lost.report})") from None
        if not isinstance(reply, dict) or "error" in reply:
            host.stop()
            raise error_from_wire(reply.get("error", {}) if isinstance(reply, dict) else {})
        return host

    def _host_for(self, generation: int) -> _Host:
        with self._host_lock:
            if self._generation != generation:
                raise ScriptError(self._message(_CLOSED))
            if self._host is not None:
                return self._host
        host = self._start()
        with self._host_lock:
            if self._generation == generation:
                self._host = host
                return host
        host.stop()
        raise ScriptError(self._message(_CLOSED))

    def _drop(self, host: _Host) -> None:
        with self._host_lock:
            if self._host is host:
                self._host = None
        host.stop()

    def _run_on(
        self,
        host: _Host,
        pending: list[tuple[int, str]],
        results: list[str | ScriptError | None],
        generation: int,
    ) -> int:
        """Send ``pending`` to ``host`` and store its answers; returns how many documents are done.

        The host answers document by document, so when it dies the culprit is the first document
        without an answer: it gets the crash error and the rest go to a fresh host.
        """
        try:
            host.send({"documents": [text for _, text in pending]})
        except HostLost:
            self._drop(host)
            # A host that died idle (killed from outside) is no document's fault: retry once on a
            # fresh one; a fresh one dying on the batch's first document means that document.
            if not host.fresh:
                return 0
            results[pending[0][0]] = ScriptError(self._message(_CRASHED))
            return 1
        host.fresh = False
        for done, (index, _) in enumerate(pending):
            try:
                reply = host.receive(self.time_limit_ms / 1000 + _WATCHDOG_MARGIN_S)
            except HostLost as lost:
                self._drop(host)
                if self._generation != generation:
                    return len(pending)  # closed: the rest stay unanswered
                _log.warning("%s host %d %s on a document", self.label, host.pid,
                             "was killed by the watchdog" if lost.hung else f"died ({lost.report})")
                results[index] = ScriptError(self._message(_TIMED_OUT if lost.hung else _CRASHED))
                return done + 1
            if "error" in reply:
                error = error_from_wire(reply["error"])
                if not isinstance(error, ScriptError):
                    self._drop(host)
                    raise error
                results[index] = error
            else:
                results[index] = str(reply.get("answer", ""))
            if reply.get("restart"):
                # The host exits after this answer; the next documents go to a fresh one.
                self._drop(host)
                return done + 1
        return len(pending)


class EmbeddingsScript(HostedScript):
    """One compiled embeddings script (see `HostedScript`): each document gives a `ScriptOutput`, or the
    `ScriptError` that says why not."""

    def __init__(self, script: str, *, time_limit_ms: int, memory_limit_bytes: int) -> None:
        if time_limit_ms > 0 and memory_limit_bytes > 0 and not script.strip():
            raise ScriptError("Embeddings script is empty: it must call embeddings.generate({...})")
        super().__init__(script, time_limit_ms=time_limit_ms, memory_limit_bytes=memory_limit_bytes)

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
        answers = self.run_raw([text for _, text in pending])
        for (index, _), answer in zip(pending, answers, strict=True):
            results[index] = answer if isinstance(answer, ScriptError) else decode_answer(answer)
        return [r if r is not None else ScriptError(self._message(_CLOSED)) for r in results]
