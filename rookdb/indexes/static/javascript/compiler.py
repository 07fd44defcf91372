"""JavaScript maps and reduces compiled into the map representation (``IndexMap``/``IndexReduce``).

An index's scripts (additional sources, maps, reduce) are compiled together in one script host (the
process that runs task scripts, ``rookdb.ai.scripting``, with its ``index`` engine; the documents layer
hands it in with ``register_script_hosts``, as indexes do not reach into the AI layer), as
RavenDB compiles them into one engine; the maps register themselves with ``map('Coll', fn)`` and the
reduce with ``groupBy(fn).aggregate(fn)``. Documents go to the host in batches (``batching``), under the
time and memory limits of task scripts per document; a document whose map throws is an indexing error of
that document.

``load(id, 'Coll')`` is answered in rounds: a map that loads a document it was not given stops, and runs
again with the documents it asked for (read through the ``MapScope``, so the index follows them); maps
are pure functions, so running one again gives the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import orjson

from rookdb.errors import IndexCompilationError, ScriptError
from rookdb.indexes.static.javascript.batching import EngineBatches, ItemAnswer
from rookdb.indexes.static.mapping import CreatedField, IndexMap, IndexReduce, MapFailure, MapScope, VectorInput

__all__ = ["LABEL", "MEMORY_LIMIT_BYTES", "TIME_LIMIT_MS", "HostedScript", "ScriptHosts", "compile_javascript",
           "register_script_hosts"]

LABEL = "Index script"
"""How error messages name an index's JavaScript."""
TIME_LIMIT_MS = 1000
"""Per document, as ``Ai.Embeddings.ScriptTimeoutInMs`` for task scripts."""
MEMORY_LIMIT_BYTES = 64 * 1024 * 1024
"""The engine's heap, as ``Ai.Embeddings.ScriptMemoryLimitInMb`` for task scripts."""
_LOAD_ROUNDS = 16
"""Rounds of ``load`` a map may need for one document (loads that depend on loaded documents)."""
_ALL_DOCS = "@all_docs"


class HostedScript(Protocol):
    """An index's scripts compiled in the script host (``rookdb.ai.scripting``'s ``HostedScript``)."""

    def run_raw(self, payloads: Sequence[str]) -> list[str | ScriptError]:
        """The engine's answer to each request, or the `ScriptError` that stopped it."""
        ...

    def close(self) -> None:
        ...


ScriptHosts = Callable[[str], HostedScript]
"""Compiles an index's scripts (the JSON of maps, reduce, sources) in a script host; raises `ScriptError`."""

_hosts: list[ScriptHosts] = []


def register_script_hosts(hosts: ScriptHosts) -> None:
    """Hand in the script host (the documents layer does, as it hands the embedded model to vector fields)."""
    _hosts[:] = [hosts]


def compile_javascript(maps: Sequence[str], reduce: str | None, sources: Mapping[str, str],
                       ) -> tuple[list[IndexMap], IndexReduce | None]:
    """Compile an index's JavaScript; ``IndexCompilationError`` says what does not compile."""
    text = orjson.dumps({"maps": list(maps), "reduce": reduce, "sources": dict(sources)}).decode()
    if not _hosts:
        raise IndexCompilationError("JavaScript indexes need the script host, which this process has not started",
                                    definition_property="Maps")
    try:
        script = _hosts[0](text)
        (answer,) = script.run_raw([orjson.dumps({"op": "describe"}).decode()])
    except ScriptError as error:
        raise IndexCompilationError(error.message, definition_property="Maps") from error
    if isinstance(answer, ScriptError):
        script.close()
        raise IndexCompilationError(answer.message, definition_property="Maps")
    described = orjson.loads(answer)
    registered = described["maps"]
    for number in range(len(maps)):
        if not any(entry["text"] == number for entry in registered):
            script.close()
            raise IndexCompilationError(f"{LABEL} (map {number + 1}) does not call map('Collection', function)",
                                        definition_property="Maps", problematic_text=maps[number])
    if reduce and not described["reduce"]:
        script.close()
        raise IndexCompilationError(f"{LABEL} (the reduce) does not call groupBy(function).aggregate(function)",
                                    definition_property="Reduce", problematic_text=reduce)
    compiled: list[IndexMap] = [
        JavaScriptMap(script, position, None if entry["collection"] == _ALL_DOCS else entry["collection"])
        for position, entry in enumerate(registered)]
    return compiled, JavaScriptReduce(script) if reduce else None


class JavaScriptMap(IndexMap):
    """One ``map('Coll', fn)`` of an index's script."""

    references = None  # load() may read any collection

    def __init__(self, script: HostedScript, position: int, collection: str | None) -> None:
        self._script = script
        self._batches = EngineBatches(script, time_limit_ms=TIME_LIMIT_MS, label=LABEL)
        self._position = position
        self.collection = collection
        self.field_names = ()

    def run(self, documents: Sequence[dict[str, Any]], scope: MapScope) -> list[list[dict[str, Any]] | MapFailure]:
        results: list[list[dict[str, Any]] | MapFailure | None] = [None] * len(documents)
        loaded: list[dict[str, Any]] = [{} for _ in documents]
        pending = list(range(len(documents)))
        for _ in range(_LOAD_ROUNDS):
            if not pending:
                break
            answers = self._batches.run({"op": "map", "map": self._position},
                                        [{"doc": documents[i], "loaded": loaded[i]} for i in pending])
            again: list[int] = []
            for position, reply in zip(pending, answers, strict=True):
                if isinstance(reply, dict) and "needs" in reply:
                    scope.start(position)
                    for doc_id in reply["needs"]:
                        loaded[position][doc_id.lower()] = scope.load(doc_id, None)
                    again.append(position)
                else:
                    outputs = _answer(reply, "outputs")
                    results[position] = outputs if isinstance(outputs, MapFailure) else [
                        _output(output) for output in outputs]
            pending = again
        for position in pending:
            results[position] = MapFailure(f"{LABEL} loads documents more than {_LOAD_ROUNDS} levels deep")
        return [result if result is not None else MapFailure(f"{LABEL} was not run") for result in results]

    def close(self) -> None:
        self._script.close()


class JavaScriptReduce(IndexReduce):
    """``groupBy(key).aggregate(fn)`` of an index's script."""

    field_names = ()

    def __init__(self, script: HostedScript) -> None:
        self._script = script
        self._batches = EngineBatches(script, time_limit_ms=TIME_LIMIT_MS, label=LABEL)

    def keys(self, outputs: Sequence[dict[str, Any]]) -> list[Any | MapFailure]:
        return [_answer(reply, "key") for reply in self._batches.run({"op": "keys"}, outputs)]

    def reduce(self, groups: Sequence[Sequence[dict[str, Any]]]) -> list[list[dict[str, Any]] | MapFailure]:
        return [_answer(reply, "results") for reply in self._batches.run({"op": "reduce"}, groups)]

    def close(self) -> None:
        self._script.close()


def _answer(reply: ItemAnswer, name: str) -> Any:
    """The ``name`` part of an item's answer, or the `MapFailure` that says why there is none."""
    if isinstance(reply, ScriptError):
        return MapFailure(reply.message)
    if "error" in reply:
        return MapFailure(_failure(reply["error"]))
    return reply[name]


def _failure(error: Mapping[str, Any]) -> str:
    return f"{LABEL} failed: {error.get('name', 'Error')}: {error.get('message', '')}"


def _output(output: Any) -> dict[str, Any]:
    """An output with the prelude's markers read: ``createField``, ``createVector``, ``loadVector`` and
    RavenDB's ``{$name, $value, $options}`` objects."""
    if not isinstance(output, dict):
        return {"Value": output}
    return {name: _value(value) for name, value in output.items()}


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        marker = value.get("@rookdb")
        if marker == "field":
            return CreatedField(str(value["name"]), value.get("value"), value.get("options"))
        if marker == "vector":
            return VectorInput(value.get("value"), value.get("task"), value.get("source"))
        if "$name" in value and "$value" in value:
            return CreatedField(str(value["$name"]), value["$value"], value.get("$options"))
        return value
    if isinstance(value, list) and value and all(isinstance(item, dict) and (
            item.get("@rookdb") == "field" or "$name" in item) for item in value):
        return [_value(item) for item in value]
    return value
