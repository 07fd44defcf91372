"""Queries on a named index (``from index 'Orders/Totals'``): static indexes, and auto-indexes by name.

Field names are the index's fields. A map index answers with its documents (or with its stored
fields, for a projection of them), a map-reduce index with its stored results; ``Indexing: Exact``
fields compare case-sensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import IndexNotFoundError
from rookdb.indexes.auto_map_reduce import AutoMapReduceDefinition
from rookdb.indexes.registry import IndexRegistry, QueryIndex
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.query import ast
from rookdb.query.bindings import Bindings
from rookdb.query.deadline import NO_DEADLINE, Deadline
from rookdb.query.executor import QueryResult, QuerySource, VectorSearchHook, execute
from rookdb.query.indexed import IndexShape, walked_order

__all__ = ["answer_from", "run_on_index", "shape_of"]


def shape_of(definition: object) -> IndexShape:
    """What a queried index stores and compares exactly."""
    if isinstance(definition, AutoMapReduceDefinition):
        return IndexShape(results_stored=True)
    if not isinstance(definition, StaticIndexDefinition):
        return IndexShape()
    stored = frozenset(name for name in (*definition.output_names(), *definition.created) if definition.stores(name))
    return IndexShape(results_stored=definition.is_map_reduce, stored_fields=stored, is_exact=definition.is_exact,
                      is_analyzed=definition.is_analyzed)


def run_on_index(query: str, parsed: ast.Query, parameters: Mapping[str, Any], source: QuerySource,
                 indexes: IndexRegistry | None, *, start: int = 0, page_size: int | None = None,
                 wait_for_non_stale: float | None = None, vector_search: VectorSearchHook | None = None,
                 order_by_score: bool = True, stale: bool = False, deadline: Deadline = NO_DEADLINE) -> QueryResult:
    """Run ``query`` (``parsed`` is its tree) on the index it names."""
    name = parsed.source.name or ""
    if indexes is None:
        raise IndexNotFoundError(f"Index '{name}' does not exist.")
    with indexes.named(name, wait=wait_for_non_stale) as chosen:
        return answer_from(chosen, query, parsed, parameters, source, start=start, page_size=page_size,
                           vector_search=vector_search, order_by_score=order_by_score, stale=stale,
                           shape=shape_of(chosen.index.definition), deadline=deadline)


def answer_from(chosen: QueryIndex, query: str, parsed: ast.Query, parameters: Mapping[str, Any],
                source: QuerySource, *, start: int, page_size: int | None, vector_search: VectorSearchHook | None,
                order_by_score: bool, stale: bool, shape: IndexShape | None = None,
                deadline: Deadline = NO_DEADLINE) -> QueryResult:
    """Run a query on the index chosen for it (held open by the caller), from one snapshot of it;
    ``stale`` reports that something else the query used lags behind."""
    index = chosen.index
    order = walked_order(parsed, Bindings(parameters, parsed.source.alias, query)) if parsed.order_by else None
    if order is not None:
        index.ensure_sorted(order)
    with chosen.snapshot() as snapshot:
        result = execute(query, parameters, source, start=start, page_size=page_size, vector_search=vector_search,
                         order_by_score=order_by_score, index=snapshot.reader, index_name=index.name, shape=shape,
                         deadline=deadline)
    result.is_stale = snapshot.stale or stale
    result.index_timestamp = snapshot.timestamp
    result.result_etag = snapshot.checkpoint
    return result
