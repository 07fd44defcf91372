"""JavaScript projections: ``select { Name: o.Name, ... }`` and ``select f(o)`` with the query's
``declare function`` blocks, run on each result in the patch hosts (same limits, same API: ``id``,
``getMetadata``, ``load``, ``cmpxchg``, ``$parameters``), plus RavenDB's ``includes.cmpxchg(key)``.

The query runs without the projection; each result's document is then ``this`` (and the query's
alias) of a script that evaluates the projection. An object becomes the result, with RavenDB's
projection metadata (``@id``, ``@projection``, ``@collection``); a document returned as it is stays
the document. A script that throws fails the query with its ``JavaScriptException``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.documents.patching.engine import PatchEngine, PatchRun
from rookdb.query import ast
from rookdb.query.executor import QueryResult

__all__ = ["project"]

_RESULT, _INCLUDES = "__rookdbProjection", "__rookdbIncludes"


def project(engine: PatchEngine, database: Database, query: ast.Query, parameters: Mapping[str, Any],
            result: QueryResult) -> None:
    """Replace ``result``'s rows by their JavaScript projection; ``includes.cmpxchg`` keys join the
    result's compare-exchange includes."""
    assert query.javascript is not None
    documents = [orjson.loads(orjson.dumps(row)) for row in result.results]
    outcomes = engine.run(_script(query), dict(parameters), [PatchRun(document) for document in documents],
                          lambda ids, keys: _resolve(database, ids, keys))
    projected: list[dict[str, Any]] = []
    included: list[str] = list(result.compare_exchange_keys or [])
    for source, outcome in zip(documents, outcomes, strict=True):
        if outcome.error is not None:
            raise outcome.error
        assert outcome.document is not None
        value = outcome.document.get(_RESULT)
        included += [key for key in outcome.document.get(_INCLUDES) or () if isinstance(key, str)]
        projected.append(_row(value, source.get("@metadata") or {}))
    result.results = projected
    if included:
        result.compare_exchange_keys = list(dict.fromkeys(included))


def _script(query: ast.Query) -> str:
    alias = query.source.alias
    call = f"(function ({alias}) {{ return ({query.javascript}); }}).call(this, this)" if alias else \
        f"(function () {{ return ({query.javascript}); }}).call(this)"
    return "\n".join([
        f"var {_INCLUDES} = [];",
        f"var includes = {{ cmpxchg: function (key) {{ {_INCLUDES}.push(key); return includes; }} }};",
        *(declaration.split(None, 1)[1] for declaration in query.declarations),  # "function name(...) {...}"
        f"var {_RESULT} = {call};",
        # A copy: the projection may be the document itself, which is emptied next.
        f"{_RESULT} = {_RESULT} === undefined ? null : JSON.parse(JSON.stringify({_RESULT}));",
        "for (const key of Object.keys(this)) delete this[key];",
        f"this.{_RESULT} = {_RESULT};",
        f"this.{_INCLUDES} = {_INCLUDES};",
    ])


def _row(value: Any, metadata: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and isinstance(value.get("@metadata"), dict) and value["@metadata"].get("@id"):
        return value  # a document returned as it is
    projected_metadata = {"@id": metadata.get("@id"), "@projection": True}
    for key in ("@collection", "@index-score"):
        if key in metadata:
            projected_metadata[key] = metadata[key]
    row = dict(value) if isinstance(value, dict) else {"Value": value}
    row["@metadata"] = projected_metadata
    return row


def _resolve(database: Database, ids: Sequence[str], keys: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    storage = database.storage
    documents = {doc_id.lower(): None if found is None else orjson.loads(found.body)
                 for doc_id, found in zip(ids, storage.get_many(list(ids)), strict=True)}
    values = {key.lower(): None if found is None else orjson.loads(found.value).get("Object")
              for key, found in zip(keys, storage.compare_exchange(list(keys)), strict=True)}
    return documents, values
