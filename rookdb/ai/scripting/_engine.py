"""The JavaScript engine as the script host runs it: one V8 context (mini-racer) with the prelude and
the compiled script, and the translation of every engine exception into a rookdb error."""

from __future__ import annotations

import re

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

from rookdb.ai.scripting._prelude import PRELUDE, location, wrap
from rookdb.errors import RookError, ScriptError

__all__ = ["ENGINE_ERRORS", "Engine", "translate"]

# Every mini-racer exception, most specific first in effect (lookup walks the MRO): the error
# rookdb raises and what to say. Engine-level failures that are not the script's fault are 500s.
ENGINE_ERRORS: dict[type[Exception], tuple[type[RookError], str]] = {
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
_ENGINE_LOCATION = re.compile(r"^(?P<source>[^\n]*?):(?P<line>\d+): (?P<message>[^\n]*)")


def translate(
    error: MiniRacerBaseException, *, time_limit_ms: int, memory_limit_bytes: int, memory_exhausted: bool,
    label: str = "Embeddings script",
) -> RookError:
    """Map a mini-racer exception to the rookdb error to raise (chained by the caller); ``label`` names
    the kind of script."""
    if memory_exhausted and isinstance(error, JSEvalException) and not isinstance(error, _LIMIT_ERRORS):
        # Hitting the hard limit surfaces as a bare JSEvalException ("null"), not JSOOMException.
        error_class, problem = ENGINE_ERRORS[JSOOMException]
    else:
        kind = next(k for k in type(error).__mro__ if k in ENGINE_ERRORS)
        error_class, problem = ENGINE_ERRORS[kind]
    problem = problem.format(time_limit_ms=time_limit_ms, memory_limit_bytes=memory_limit_bytes)
    detail = ""
    if isinstance(error, JSEvalException) and not isinstance(error, _LIMIT_ERRORS) and not memory_exhausted:
        text = str(error)
        match = _ENGINE_LOCATION.match(text)
        if match is not None:
            problem += location(int(match["line"]))
            detail = match["message"]
        else:
            detail = text.strip().split("\n", 1)[0]
    return error_class(f"{label} {problem}" + (f": {detail}" if detail else ""))


class Engine:
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
            self._racer.eval(PRELUDE, timeout_sec=self._timeout_sec)
            self._racer.eval(wrap(script), timeout_sec=self._timeout_sec)
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
        return translate(
            error,
            time_limit_ms=self.time_limit_ms,
            memory_limit_bytes=self.memory_limit_bytes,
            memory_exhausted=self._racer.was_hard_memory_limit_reached(),
        )
