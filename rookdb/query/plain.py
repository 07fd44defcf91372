"""A shorter path for plain dynamic queries: filters, ``order by`` and paging on one collection, answered
from an auto-index that already covers them and is current.

Most of what ``run_dynamic`` works out on every run depends on the query's text alone: that it needs an
auto-index and which fields, that nothing in it scores, projects, includes, groups or counts facets. For
a plain query that is worked out once per parsed text here; a run then checks its parameters, holds the
index, reads one snapshot and answers with ``indexed.answer``, the function the general path ends in,
so results, ordering and errors are the same. When the index does not exist yet or is not current, or
the request waits for non-stale results, ``run_plain`` returns None having changed nothing, and the
general path runs (it creates, waits for or catches the index up).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rookdb.indexes.definitions import AutoIndexField
from rookdb.indexes.registry import IndexRegistry
from rookdb.query import ast, indexed
from rookdb.query.bindings import Bindings, check_parameters
from rookdb.query.deadline import Deadline
from rookdb.query.executor import QueryResult, QuerySource
from rookdb.query.index_names import auto_index_fields, fields_follow_parameters, reads_collection
from rookdb.query.scoring import fusion_of

__all__ = ["PlainQuery", "plain_query", "run_plain"]

_SCORED = (ast.Search, ast.VectorSearch, ast.Boost)
_SHAPE = indexed.IndexShape()
_KNOWN_SIZE = 1024
_known: dict[int, tuple[ast.Query, PlainQuery | None]] = {}
"""Parsed queries (by identity, kept alive here so that it stays theirs) and what was found for them."""


@dataclass(frozen=True, slots=True)
class PlainQuery:
    """A plain query's text-only facts: its tree, collection and the auto-index fields it needs."""

    parsed: ast.Query
    text: str
    collection: str
    fields: tuple[AutoIndexField, ...]


def plain_query(text: str, parsed: ast.Query) -> PlainQuery | None:
    """``parsed`` (the parser's tree of ``text``) as a plain query, or None when it is not one."""
    known = _known.get(id(parsed))
    if known is not None and known[0] is parsed:
        return known[1]
    found = _plain(text, parsed)
    if len(_known) >= _KNOWN_SIZE:
        _known.clear()
    _known[id(parsed)] = (parsed, found)
    return found


def _plain(text: str, parsed: ast.Query) -> PlainQuery | None:
    if (parsed.source.kind != "collection" or parsed.source.name is None or parsed.group_by or parsed.facets
            or parsed.select is not None or parsed.javascript is not None or parsed.declarations or parsed.include
            or parsed.include_compare_exchange or parsed.include_timings or parsed.include_explanations is not False
            or parsed.highlights or reads_collection(parsed) or fields_follow_parameters(parsed)):
        return None
    if parsed.where is not None and parsed.where.nodes_of(_SCORED):
        return None
    if any(isinstance(order.target, ast.ScoreOrder) for order in parsed.order_by):
        return None
    fields, vectors = auto_index_fields(parsed, {})  # the fields follow no parameter (checked above)
    if vectors:
        return None
    return PlainQuery(parsed, text, parsed.source.name, tuple(fields))


def run_plain(plain: PlainQuery, parameters: Mapping[str, Any], source: QuerySource, indexes: IndexRegistry, *,
              start: int, page_size: int | None, order_by_score: bool, deadline: Deadline) -> QueryResult | None:
    """The result of a plain query from its existing, current auto-index; None when the general path
    must run instead (no such index yet, or it has changes to apply)."""
    began = time.perf_counter()
    parsed = plain.parsed
    check_parameters(parsed, parameters, plain.text)
    bindings = Bindings(parameters, parsed.source.alias, plain.text)
    fusion = fusion_of(parameters, plain.text)
    skip, take = bindings.window(parsed, start, page_size)
    order = indexed.walked_order(parsed, bindings)
    index = indexes.covering(plain.collection, plain.fields)
    if index is None:
        return None
    try:
        if index.store.documents_file is None:  # whether it is current is not read in its snapshot
            return None
        if order is not None:
            index.ensure_sorted(order)
        with index.reader() as reader:
            position = reader.position()
            if not position.current:
                return None
            page, total = indexed.answer(parsed, bindings, reader, source, skip=skip, take=take, vector_search=None,
                                         order_by_score=order_by_score, fusion=fusion, shape=_SHAPE,
                                         deadline=deadline)
    finally:
        index.leave()
    return QueryResult(results=[result for _, result in page], includes={}, total_results=total, skipped_results=0,
                       index_name=index.name, duration_ms=round((time.perf_counter() - began) * 1000),
                       index_timestamp=position.last_indexed, result_etag=position.checkpoint)
