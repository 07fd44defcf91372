"""Running RQL against a database: the bridge from the database to the query executor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.documents.vector_search import VectorSearchService
from rookdb.errors import RookError
from rookdb.query import ast
from rookdb.query.executor import QueryResult, VectorSearchHook, execute
from rookdb.query.parser import parse_query

__all__ = ["DatabaseQuerySource", "run_query"]


class DatabaseQuerySource:
    """Feeds the executor parsed documents straight from storage."""

    def __init__(self, database: Database) -> None:
        self._storage = database.storage

    def iter_collection(self, collection: str | None) -> Iterator[dict[str, Any]]:
        for document in self._storage.iter_collection(collection):
            parsed: dict[str, Any] = orjson.loads(document.body)
            yield parsed

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        document = self._storage.get(doc_id)
        if document is None:
            return None
        parsed: dict[str, Any] = orjson.loads(document.body)
        return parsed


def run_query(database: Database, query: str, parameters: dict[str, Any], *, start: int = 0,
              page_size: int | None = None, wait_for_non_stale: float | None = None,
              vectors: VectorSearchService | None = None) -> QueryResult:
    """Run RQL; ``wait_for_non_stale`` is how long a query may wait for its index to catch up (seconds).

    Only vector queries use an index (the others scan documents and are never stale); theirs is
    found or created in ``vectors`` (the database's vector service), and ``IsStale`` reports whether
    it had applied every change.
    """
    parsed = parse_query(query)
    hook: VectorSearchHook | None = None
    stale = False
    # A static index does not exist here: the executor answers IndexDoesNotExistException for it.
    if (parsed.source.kind != "index" and parsed.where is not None
            and any(isinstance(node, ast.VectorSearch) for node in parsed.where.walk())):
        if vectors is None:
            raise RookError(f"Database '{database.name}' was opened without its services: vector queries "
                            "need its vector indexes.")
        prepared = vectors.prepare(parsed, parameters, wait_for_non_stale)
        hook, stale = prepared.hook, prepared.stale
    result = execute(query, parameters, DatabaseQuerySource(database), start=start, page_size=page_size,
                     vector_search=hook,
                     order_by_score=bool(database.settings["Indexing.Corax.VectorSearch.OrderByScoreAutomatically"]))
    result.is_stale = stale
    return result
