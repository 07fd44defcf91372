"""`PatchEngine`: runs patch scripts on batches of documents in patch host processes.

A host (``_host.py``) is a child process holding one V8 context with RavenDB's patch API and the
scripts compiled so far; V8 aborts the whole process on a few allocations past its own limits, so a
bad script must not run inside the server. The engine keeps a small pool of hosts, compiles each
script once per host, and sends documents in batches: one engine round trip per batch, not per
document.

Limits: a batch must finish within the time limit and the V8 heap stay under the memory limit. A
batch that breaks a limit is run again document by document, so only the documents that break it
alone fail; the host that broke it is replaced. Documents that ``load``/``cmpxchg`` needs are fetched
through the caller's ``resolve`` and the run is repeated with them (at most ``_MAX_ROUNDS`` times).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from rookdb.documents.patching._host import SCRIPT_SOURCE_PREFIX, WRAPPER_HEAD
from rookdb.errors import RookError, ScriptError
from rookdb.frames import HOST_STARTUP_ALLOWANCE_S, HostLost, HostProcess

__all__ = ["PatchEngine", "PatchOutcome", "PatchRun", "Resolver"]

_HOST_MODULE = "rookdb.documents.patching._host"
# Starting Python and V8 takes ~0.2 s on an idle machine; allow for a loaded one.
# Beyond the time limit (enforced inside the host), before the server gives up on a silent host.
_WATCHDOG_MARGIN_S = 5.0
# How many times a run may come back asking for more documents (load in a loop over ids).
_MAX_ROUNDS = 64
_STACK_LOCATION = re.compile(re.escape(SCRIPT_SOURCE_PREFIX) + r"\d+\.js:(\d+):(\d+)")

_log = logging.getLogger(__name__)


@dataclass
class PatchRun:
    """One document to patch: ``document`` is ``this`` (``{}`` for a patch-if-missing), ``documents``
    and ``compare_exchange`` what ``load``/``cmpxchg`` may see (lower-cased keys, None = missing)."""

    document: dict[str, Any]
    documents: dict[str, Any] = field(default_factory=dict)
    compare_exchange: dict[str, Any] = field(default_factory=dict)


@dataclass
class PatchOutcome:
    """What the script did to a run's document: the document after it, or the error it raised, with
    the writes (``put``/``del``) to apply after it and its ``output`` lines."""

    document: dict[str, Any] | None = None
    error: ScriptError | None = None
    writes: list[dict[str, Any]] = field(default_factory=list)
    output: list[str] = field(default_factory=list)


class _BatchFailed(Exception):
    """The host stopped a batch that broke a limit (``kind``: timeout, memory, crash) and exits."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


Resolver = Callable[[Sequence[str], Sequence[str]], tuple[dict[str, Any], dict[str, Any]]]
"""Fetches what scripts asked for: (document ids, compare-exchange keys) → (lower-cased id → document
or None, lower-cased key → value or None)."""


class _Host(HostProcess):
    """One patch host process with the scripts compiled in it (script text → id, least recent first)."""

    def __init__(self, time_limit_ms: int, memory_limit_bytes: int, cached_scripts: int) -> None:
        super().__init__(_HOST_MODULE)
        self._time_limit_s = time_limit_ms / 1000
        self._cached_scripts = cached_scripts
        self._scripts: OrderedDict[str, int] = OrderedDict()
        self._next_id = 1
        self.send({"time_limit_ms": time_limit_ms, "memory_limit_bytes": memory_limit_bytes})
        self.receive(HOST_STARTUP_ALLOWANCE_S)

    def compiled(self, script: str) -> int:
        """The id of ``script`` in this host, compiling it first if needed (raises its syntax error)."""
        known = self._scripts.get(script)
        if known is not None:
            self._scripts.move_to_end(script)
            return known
        script_id = self._next_id
        self._next_id += 1
        self.send({"compile": script_id, "script": script})
        reply = self.receive(self._time_limit_s + _WATCHDOG_MARGIN_S)
        if "error" in reply:
            if reply.get("restart"):
                self.stop()
            raise _script_error(reply["error"], self._time_limit_s)
        self._scripts[script] = script_id
        if len(self._scripts) > self._cached_scripts:
            _, forgotten = self._scripts.popitem(last=False)
            self.send({"forget": forgotten})
        return script_id

    def patch(self, script_id: int, args_json: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.send({"patch": script_id, "args": args_json, "runs": orjson.dumps(runs).decode()})
        reply = self.receive(self._time_limit_s + _WATCHDOG_MARGIN_S)
        if isinstance(reply, dict):
            self.stop()
            raise _BatchFailed(str(reply.get("error", {}).get("kind", "crash")))
        answers: list[dict[str, Any]] = reply
        return answers


def _script_error(raw: dict[str, Any], time_limit_s: float) -> ScriptError:
    kind = raw.get("kind")
    if kind == "timeout":
        return ScriptError(f"The patch script exceeded its time limit of {int(time_limit_s * 1000)} ms "
                           "(Patching.ScriptTimeoutInMs).")
    if kind == "memory":
        return ScriptError("The patch script exceeded its memory limit (Patching.ScriptMemoryLimitInMb).")
    if kind == "crash":
        return ScriptError("The patch script crashed the JavaScript engine (out of memory?).")
    if kind == "syntax":
        where = f" at line {raw['line']}" if "line" in raw else ""
        return ScriptError(f"The patch script has a syntax error{where}: {raw.get('message', '')}")
    message = str(raw.get("message", "the script failed"))
    match = _STACK_LOCATION.search(str(raw.get("stack", "")))
    if match is None:
        return ScriptError(f"The patch script failed: {message}")
    line, column = int(match[1]), int(match[2])
    if line == 1:
        column -= len(WRAPPER_HEAD)
    return ScriptError(f"The patch script failed at line {line}, column {column}: {message}")


class PatchEngine:
    """Runs patch scripts in a pool of host processes; safe to use from many threads."""

    def __init__(self, *, time_limit_ms: int, memory_limit_bytes: int, hosts: int = 2,
                 cached_scripts: int = 256) -> None:
        self.time_limit_ms = time_limit_ms
        self.memory_limit_bytes = memory_limit_bytes
        self._cached_scripts = cached_scripts
        self._idle: queue.LifoQueue[_Host | None] = queue.LifoQueue()
        for _ in range(hosts):
            self._idle.put(None)  # a slot: the host starts on first use
        self._lock = threading.Lock()
        self._all: list[_Host] = []

    def run(self, script: str, args: dict[str, Any], runs: Sequence[PatchRun], resolve: Resolver
            ) -> list[PatchOutcome]:
        """Run ``script`` on every run (``this`` = its document); one outcome per run, in order.

        A syntax error fails every run with the same `ScriptError`. Raises a plain `RookError` only when
        the engine cannot run at all.
        """
        if not script or not script.strip():
            raise ScriptError("The patch script is empty.")
        args_json = orjson.dumps(args).decode()
        outcomes: list[PatchOutcome | None] = [None] * len(runs)
        pending = list(range(len(runs)))
        payloads = [{"doc": run.document, "docs": run.documents, "cmpxchg": run.compare_exchange} for run in runs]
        for _ in range(_MAX_ROUNDS):
            if not pending:
                break
            answers = self._run_batch(script, args_json, [payloads[index] for index in pending])
            waiting: list[int] = []
            wanted_documents: list[str] = []
            wanted_values: list[str] = []
            for index, answer in zip(pending, answers, strict=True):
                if isinstance(answer, PatchOutcome):
                    outcomes[index] = answer
                    continue
                waiting.append(index)
                wanted_documents += answer["docs"]
                wanted_values += answer["cmpxchg"]
            if waiting:
                documents, values = resolve(list(dict.fromkeys(wanted_documents)), list(dict.fromkeys(wanted_values)))
                for index in waiting:
                    payloads[index]["docs"].update(documents)
                    payloads[index]["cmpxchg"].update(values)
            pending = waiting
        for index in pending:
            outcomes[index] = PatchOutcome(error=ScriptError(
                f"The patch script loaded documents one at a time more than {_MAX_ROUNDS} times; load them "
                "together with load([id1, id2, ...])."))
        return [outcome if outcome is not None else PatchOutcome() for outcome in outcomes]

    def _run_batch(self, script: str, args_json: str, payloads: list[dict[str, Any]]
                   ) -> list[PatchOutcome | dict[str, list[str]]]:
        """Answers for a batch: an outcome each, or what the run needs (``{"docs", "cmpxchg"}``)."""
        host = self._acquire()
        try:
            script_id = host.compiled(script)
            answers = host.patch(script_id, args_json, payloads)
        except ScriptError as error:
            return [PatchOutcome(error=error) for _ in payloads]
        except _BatchFailed as failure:
            failed = failure.kind
        except HostLost as lost:
            failed = "timeout" if lost.hung else "crash"
            if not lost.hung:
                _log.warning("Patch host %d died on a batch (%s)", host.pid, lost.report)
        else:
            return [self._decode(answer) for answer in answers]
        finally:
            self._release(host)
        if len(payloads) > 1:
            # Only the documents that break a limit alone should fail: run them one by one.
            return [self._run_batch(script, args_json, [payload])[0] for payload in payloads]
        return [PatchOutcome(error=_script_error({"kind": failed}, self.time_limit_ms / 1000))]

    def _decode(self, answer: dict[str, Any]) -> PatchOutcome | dict[str, list[str]]:
        if "need" in answer:
            need: dict[str, list[str]] = answer["need"]
            return need
        if "error" in answer:
            return PatchOutcome(error=_script_error(answer["error"], self.time_limit_ms / 1000),
                                output=answer.get("output", []))
        return PatchOutcome(document=answer["doc"], writes=answer.get("writes", []), output=answer.get("output", []))

    def _acquire(self) -> _Host:
        host = self._idle.get()
        if host is not None and host.alive:
            return host
        try:
            started = _Host(self.time_limit_ms, self.memory_limit_bytes, self._cached_scripts)
        except HostLost as lost:
            self._idle.put(None)
            _log.warning("Patch host failed to start (%s)", lost.report)
            raise RookError(f"The patch engine could not start its JavaScript host ({lost.report}).") from lost
        except BaseException:
            self._idle.put(None)
            raise
        with self._lock:
            self._all = [known for known in self._all if known.alive] + [started]
        return started

    def _release(self, host: _Host) -> None:
        self._idle.put(host if host.alive else None)

    def close(self) -> None:
        """Stop every host; a later run starts new ones."""
        with self._lock:
            hosts, self._all = self._all, []
        for host in hosts:
            host.stop()
