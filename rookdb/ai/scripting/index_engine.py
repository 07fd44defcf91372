"""The JavaScript engine of index scripts as the script host runs it (``"engine": "index"``): one V8
context with the index prelude (``index_prelude.js``), the index's additional sources, maps and reduce;
every request is one ``__rookdbIndex`` call. The indexes layer talks to it through a `HostedScript`
(``rookdb.indexes.static.javascript``)."""

from __future__ import annotations

from importlib import resources

import orjson
from py_mini_racer import MiniRacer
from py_mini_racer._exc import MiniRacerBaseException

from rookdb.ai.scripting._engine import translate
from rookdb.errors import RookError, ScriptError

__all__ = ["LABEL", "IndexEngine"]

LABEL = "Index script"
"""How error messages name an index's JavaScript (as ``rookdb.indexes.static.javascript.compiler`` does)."""
_PRELUDE = resources.files(__package__).joinpath("index_prelude.js").read_text("utf-8") + \
    "\n//# sourceURL=rookdb-index-prelude.js\n"


class IndexEngine:
    """One V8 context holding an index's scripts (``script`` is the JSON of ``{"maps": [...], "reduce":
    ..., "sources": [...]}``); construction compiles them, ``evaluate`` answers one request."""

    def __init__(self, script: str, *, time_limit_ms: int, memory_limit_bytes: int) -> None:
        self.time_limit_ms = time_limit_ms
        self.memory_limit_bytes = memory_limit_bytes
        self.spent = False
        self._timeout_sec = time_limit_ms / 1000
        self._racer = MiniRacer()
        parts = orjson.loads(script)
        try:
            self._racer.set_hard_memory_limit(memory_limit_bytes)
            self._racer.eval(_PRELUDE, timeout_sec=self._timeout_sec)
        except MiniRacerBaseException as error:
            raise self._translate(error) from error
        for name, source in parts.get("sources", {}).items():
            self._compile(source, f"additional source '{name}'")
        for number, text in enumerate(parts["maps"]):
            self._racer.eval(f"__rookdbMapText({number})")
            self._compile(text, f"map {number + 1}")
        if parts.get("reduce"):
            self._compile(parts["reduce"], "the reduce")

    def _compile(self, text: str, what: str) -> None:
        try:
            self._racer.eval(text, timeout_sec=self._timeout_sec)
        except MiniRacerBaseException as error:
            failure = self._translate(error)
            raise ScriptError(failure.message.replace(LABEL, f"{LABEL} ({what})", 1)) from error

    def evaluate(self, request: str) -> str:
        """The prelude's JSON answer to one request."""
        argument = orjson.dumps(request).decode()
        try:
            answer = self._racer.eval(f"__rookdbIndex({argument})", timeout_sec=self._timeout_sec)
        except MiniRacerBaseException as error:
            self.spent = True
            raise self._translate(error) from error
        self.spent = self._racer.was_hard_memory_limit_reached()
        return answer if isinstance(answer, str) else ""

    def _translate(self, error: MiniRacerBaseException) -> RookError:
        return translate(error, time_limit_ms=self.time_limit_ms, memory_limit_bytes=self.memory_limit_bytes,
                         memory_exhausted=self._racer.was_hard_memory_limit_reached(), label=LABEL)
