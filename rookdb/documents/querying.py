"""Running RQL against a database: the bridge from the database to the query layer.

Dynamic queries are answered by the auto-index their fields need (``rookdb.query.dynamic``); vector
clauses are scored by the vector service, whose auto-indexes carry the vector fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.documents.indexing import IndexingService
from rookdb.documents.patching.engine import PatchEngine
from rookdb.documents.projections import project
from rookdb.documents.vector_search import VectorSearchService
from rookdb.errors import BadRequestError, RookError, ValidationError
from rookdb.query import ast
from rookdb.query.bindings import COMPARE_EXCHANGE_PARAMETER, compare_exchange_keys
from rookdb.query.by_parsed import ByParsedQuery
from rookdb.query.deadline import Deadline
from rookdb.query.dynamic import run_dynamic
from rookdb.query.executor import QueryResult, VectorSearchHook
from rookdb.query.named_vectors import StaticVectorSearch
from rookdb.query.parser import parse_query
from rookdb.query.plain import plain_query
from rookdb.query.vector_clauses import vector_only
from rookdb.storage.base import CompareExchangeValue
from rookdb.wire import parse_timespan

__all__ = ["DEFAULT_WAIT_FOR_NON_STALE_RESULTS_SECONDS", "DatabaseQuerySource", "is_short", "matching_ids",
           "run_query", "wait_for_non_stale_seconds"]

# The client's default WaitForNonStaleResultsTimeout, used when it asks to wait without a timeout.
DEFAULT_WAIT_FOR_NON_STALE_RESULTS_SECONDS = 15.0


class DatabaseQuerySource:
    """Feeds the executor parsed documents straight from storage."""

    def __init__(self, database: Database) -> None:
        self._storage = database.storage
        self.documents_file = database.storage.documents_file
        """The file the documents live in, when local: an index that attached it reads the page with them."""

    def iter_collection(self, collection: str | None) -> Iterator[dict[str, Any]]:
        for document in self._storage.iter_collection(collection):
            parsed: dict[str, Any] = orjson.loads(document.body)
            yield parsed

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        return self.get_documents([doc_id])[0]

    def get_documents(self, doc_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """Documents by id in one read, aligned with ``doc_ids``."""
        return [None if stored is None else orjson.loads(stored.body) for stored in self._storage.get_many(doc_ids)]


def run_query(database: Database, query: str, parameters: dict[str, Any], *, start: int = 0,
              page_size: int | None = None, wait_for_non_stale: float | None = None,
              indexes: IndexingService | None = None, vectors: VectorSearchService | None = None,
              scripts: PatchEngine | None = None, last_etag: int | None = None) -> QueryResult:
    """Run RQL; ``wait_for_non_stale`` is how long a query may wait for its index to catch up (seconds).

    ``indexes`` and ``vectors`` are the database's services; a database opened without them only
    answers queries that read a collection in order. ``scripts`` runs JavaScript projections.
    ``last_etag`` is the database's last etag when the caller read it before the query (a vector
    index is current when it has applied that much); None reads it where needed.
    """
    if wait_for_non_stale is None and indexes is not None:
        planned = indexes.prepared.answer(query, parameters, DatabaseQuerySource(database), start=start,
                                          page_size=page_size, order_by_score=_order_by_score(database),
                                          deadline=Deadline(database.settings["Query.TimeoutInSec"]))
        if planned is not None:
            return planned
    parsed = parse_query(query)
    keys = compare_exchange_keys(parsed, parameters)
    if keys:  # cmpxchg(key) values are read before the query runs, as parameters no RQL can name
        found = database.storage.compare_exchange(keys)
        parameters = {**parameters, **{COMPARE_EXCHANGE_PARAMETER + key.lower(): _object(value)
                                       for key, value in zip(keys, found, strict=True) if value is not None}}
    hook: VectorSearchHook | None = None
    stale = False
    if (parsed.source.kind != "index" and parsed.where is not None
            and parsed.where.nodes_of(ast.VectorSearch)):
        if vectors is None:
            raise RookError(f"Database '{database.name}' was opened without its services: vector queries "
                            "need its vector indexes.")
        prepared = vectors.prepare(parsed, parameters, wait_for_non_stale, last_etag)
        hook, stale = prepared.hook, prepared.stale
    elif (parsed.source.kind == "index" and parsed.where is not None and vectors is not None and indexes is not None
          and parsed.where.nodes_of(ast.VectorSearch)):
        hook = StaticVectorSearch(parsed, indexes.registry, vectors)
    if parsed.javascript is not None and scripts is None:
        raise RookError(f"Database '{database.name}' was opened without a JavaScript engine: JavaScript "
                        "projections cannot run.")
    result = run_dynamic(query, parameters, DatabaseQuerySource(database),
                         None if indexes is None else indexes.registry, start=start, page_size=page_size,
                         wait_for_non_stale=wait_for_non_stale, vector_search=hook, stale=stale,
                         order_by_score=_order_by_score(database),
                         deadline=Deadline(database.settings["Query.TimeoutInSec"]))
    if parsed.javascript is not None and scripts is not None:
        project(scripts, database, parsed, parameters, result)
    return result


def _order_by_score(database: Database) -> bool:
    return bool(database.settings["Indexing.Corax.VectorSearch.OrderByScoreAutomatically"])


def is_short(query: str, wait_for_non_stale: float | None) -> bool:
    """True for a query whose work is bounded and small once its indexes exist and are current, with no
    wait asked for, no JavaScript, grouping, facets or ordering: vector clauses alone on a collection
    (they read only the candidates they score), or a plain filter (``rookdb.query.plain``: one snapshot
    of its auto-index, a page of at most ``LOOP_PAGE_BOUND`` documents on the event loop). See
    ``rookdb.inline`` for where it runs."""
    if wait_for_non_stale is not None:
        return False
    try:
        parsed = parse_query(query)
    except RookError:
        return False  # the error is answered where the query runs
    return _short_queries.get(parsed, lambda: _is_short(query, parsed))


_short_queries: ByParsedQuery[bool] = ByParsedQuery()


def _is_short(query: str, parsed: ast.Query) -> bool:
    if (parsed.source.kind != "collection" or parsed.where is None or parsed.javascript is not None
            or parsed.group_by or parsed.facets or parsed.order_by):
        return False
    if vector_only(parsed.where):
        return not _embeds_with_task(parsed.where)
    return plain_query(query, parsed) is not None


def _embeds_with_task(where: ast.Expr) -> bool:
    """Whether a clause embeds its search term with a task's model: that always waits (the embeddings
    cache, the provider), so the query goes to a request thread at once instead of being tried on the
    event loop and started again there."""
    return any(isinstance(node, ast.VectorSearch) and not isinstance(node.query, ast.ForDoc)
               and (node.field.task is not None or isinstance(node.query, ast.TextWithTask))
               for node in where.walk())


def _object(value: CompareExchangeValue) -> Any:
    stored = orjson.loads(value.value)
    return stored.get("Object") if isinstance(stored, dict) else None


def wait_for_non_stale_seconds(body: Any) -> float | None:
    """Seconds a query body asks to wait for its index (``WaitForNonStaleResults`` and
    ``WaitForNonStaleResultsTimeout``), or None when it does not ask."""
    if not isinstance(body, dict) or not body.get("WaitForNonStaleResults"):
        return None
    timeout = body.get("WaitForNonStaleResultsTimeout")
    if timeout is None:
        return DEFAULT_WAIT_FOR_NON_STALE_RESULTS_SECONDS
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        return max(timeout / 1000, 0.0)  # the Node.js client sends milliseconds, the others a TimeSpan
    try:
        return max(parse_timespan(timeout, "WaitForNonStaleResultsTimeout").total_seconds(), 0.0)
    except ValidationError as error:
        raise BadRequestError(error.message) from error


def matching_ids(database: Database, query: str, parameters: dict[str, Any],
                 indexes: IndexingService | None = None, vectors: VectorSearchService | None = None) -> list[str]:
    """The ids of every document ``query`` matches (what patch and delete by query work on)."""
    parsed = parse_query(query)
    if parsed.source.kind != "index" and parsed == ast.Query(parsed.source):
        # A whole collection, in the order a scan reads it: no document needs parsing to list it.
        return database.storage.collection_ids(parsed.source.name)
    result = run_query(database, query, parameters, indexes=indexes, vectors=vectors)
    ids: list[str] = []
    for row in result.results:
        metadata = row.get("@metadata") if isinstance(row, dict) else None
        doc_id = metadata.get("@id") if isinstance(metadata, dict) else None
        if isinstance(doc_id, str):
            ids.append(doc_id)
    return ids
