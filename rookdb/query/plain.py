"""A shorter path for plain dynamic queries: filters, ``order by`` and paging on one collection, answered
from an auto-index that already covers them and is current.

Most of what ``run_dynamic`` works out on every run depends on the query's text alone: that it needs an
auto-index and which fields, that nothing in it scores, projects, includes, groups or counts facets. For
a plain query that is worked out once per parsed text here; a run then checks its parameters, holds the
index, reads one snapshot and answers with ``indexed.answer``, the function the general path ends in,
so results, ordering and errors are the same. When the index does not exist yet or is not current, or
the request waits for non-stale results, ``run_plain`` returns None having changed nothing, and the
general path runs (it creates, waits for or catches the index up).

A query with no ``order by`` whose page shows its total (the whole page, or a page shorter than asked
for) is one statement: the snapshot's position and the page with its documents
(``IndexReader.page_at_position``), no transaction begun and committed around them, and its results are
the documents as parsed (``indexed.answer`` renders an unprojected, unscored document as itself).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from rookdb.indexes import plan
from rookdb.indexes.definitions import AutoIndexField
from rookdb.indexes.index import Index
from rookdb.indexes.matching import Compiled, StoreField
from rookdb.indexes.reader import IndexReader, SnapshotPosition
from rookdb.indexes.registry import IndexRegistry
from rookdb.indexes.values import Key, string_number
from rookdb.inline import refuse_to_wait, waiting_refused
from rookdb.query import ast, indexed
from rookdb.query.bindings import Bindings, check_parameters
from rookdb.query.by_parsed import ByParsedQuery
from rookdb.query.deadline import Deadline
from rookdb.query.executor import QueryResult, QuerySource
from rookdb.query.index_names import auto_index_fields, fields_follow_parameters, index_field, reads_collection
from rookdb.query.ordering import query_keys
from rookdb.query.planner import Planner
from rookdb.query.scoring import FUSION_PARAMETER, fusion_of

__all__ = ["LOOP_PAGE_BOUND", "PlainQuery", "answer_entered", "bind", "plain_query", "run_plain"]

LOOP_PAGE_BOUND = 256
"""The most documents a query reads on the event loop (``rookdb.inline``): a larger page goes to a thread."""

_SCORED = (ast.Search, ast.VectorSearch, ast.Boost)
_SHAPE = indexed.IndexShape()
_known: ByParsedQuery[PlainQuery | None] = ByParsedQuery()


@dataclass(frozen=True, slots=True)
class PlainQuery:
    """A plain query's text-only facts: its tree, collection, the auto-index fields it needs, its
    parameters and the sorted order it may walk (``indexed.walked_order``)."""

    parsed: ast.Query
    text: str
    collection: str
    fields: tuple[AutoIndexField, ...]
    parameters: frozenset[str]
    order: plan.SortKey | None
    equality: tuple[str, ast.Value] | None
    """``where Field = value`` (the index field and the value): a query that may skip planning (``_equality``)."""
    templates: dict[str, _Template] = field(default_factory=dict, compare=False)
    """The statement of ``equality`` by the kind of its one key (``str``, ``num``), for the fields it was made with."""


@dataclass(frozen=True, slots=True)
class _Template:
    """The compiled statement of ``Field = value`` for one key, its field's number and the index fields it holds for."""

    fields: Mapping[str, StoreField]
    sql: str
    field: int


def plain_query(text: str, parsed: ast.Query) -> PlainQuery | None:
    """``parsed`` (the parser's tree of ``text``) as a plain query, or None when it is not one."""
    return _known.get(parsed, lambda: _plain(text, parsed))


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
    order = indexed.walked_order(parsed, Bindings({}, parsed.source.alias, text))  # a field, not a value
    where = parsed.where
    equality = None
    if isinstance(where, ast.Comparison) and where.op == "=" and isinstance(where.field, ast.FieldPath):
        equality = (index_field(where.field, parsed.source.alias), where.value)
    return PlainQuery(parsed, text, parsed.source.name, tuple(fields),
                      frozenset(parameter.name for parameter in parsed.parameters()), order, equality)


def run_plain(plain: PlainQuery, parameters: Mapping[str, Any], source: QuerySource, indexes: IndexRegistry, *,
              start: int, page_size: int | None, order_by_score: bool, deadline: Deadline) -> QueryResult | None:
    """The result of a plain query from its existing, current auto-index; None when the general path
    must run instead (no such index yet, or it has changes to apply)."""
    began = time.perf_counter()
    bindings, skip, take = bind(plain, parameters, start, page_size)
    index = indexes.covering(plain.collection, plain.fields)
    if index is None:
        return None
    return answer_entered(plain, index, bindings, source, skip=skip, take=take, order_by_score=order_by_score,
                          deadline=deadline, began=began)


def bind(plain: PlainQuery, parameters: Mapping[str, Any], start: int, page_size: int | None
         ) -> tuple[Bindings, int, int | None]:
    """The query bound to ``parameters``, and its page (skip, take); the general path's errors for
    missing or bad parameters."""
    parsed = plain.parsed
    if not plain.parameters <= parameters.keys():
        check_parameters(parsed, parameters, plain.text)  # names the first one missing
    if FUSION_PARAMETER in parameters:
        fusion_of(parameters, plain.text)  # nothing is scored, but a bad value fails as on the general path
    bindings = Bindings(parameters, parsed.source.alias, plain.text)
    if parsed.limit is None and parsed.offset is None:
        return bindings, max(start, 0), page_size if page_size is None else max(page_size, 0)
    skip, take = bindings.window(parsed, start, page_size)
    return bindings, skip, take


def answer_entered(plain: PlainQuery, index: Index, bindings: Bindings, source: QuerySource, *, skip: int,
                   take: int | None, order_by_score: bool, deadline: Deadline, began: float) -> QueryResult | None:
    """``run_plain``'s answer from ``index``, an auto-index covering the query that the caller entered
    (``Index.enter``): it is left here. None when it is not current (nothing read is kept)."""
    parsed = plain.parsed
    try:
        documents_file = index.store.documents_file
        if documents_file is None:  # whether it is current is not read in its snapshot
            return None
        if plain.order is not None:
            index.ensure_sorted(plain.order)
        offered = getattr(source, "documents_file", None)  # the index reads the page's documents itself
        found = None
        # On the event loop every connection waits for the page: one larger than a few hundred documents
        # is read on a request thread instead, having read no more than one past that bound here.
        bounded = take
        if waiting_refused() and (take is None or take > LOOP_PAGE_BOUND):
            bounded = LOOP_PAGE_BOUND + 1
        if plain.order is None and parsed.where is not None and (offered is documents_file
                                                                 or offered == documents_file):
            found = _unordered(plain, bindings, index.reader(), skip, bounded)
        if found is None:
            if bounded != take:
                refuse_to_wait(f"a page of more than {LOOP_PAGE_BOUND} documents")
            with index.reader() as reader:
                position = reader.position()
                if not position.current:
                    return None
                page, total = indexed.answer(parsed, bindings, reader, source, skip=skip, take=take,
                                             vector_search=None, order_by_score=order_by_score, fusion=None,
                                             shape=_SHAPE, deadline=deadline)
            results = [result for _, result in page]
        else:
            position, results, total = found
            if not position.current:
                return None
            deadline.check()
    finally:
        index.leave()
    return QueryResult(results=results, includes={}, total_results=total, skipped_results=0,
                       index_name=index.name, duration_ms=round((time.perf_counter() - began) * 1000),
                       index_timestamp=position.last_indexed, result_etag=position.checkpoint)


def _unordered(plain: PlainQuery, bindings: Bindings, reader: IndexReader, skip: int, take: int | None
               ) -> tuple[SnapshotPosition, list[dict[str, Any]], int] | None:
    """Position, results and total of an unordered page read in one statement; None when the page does
    not show the total (a full page, or one past the end), which needs a count in the same snapshot."""
    assert plain.parsed.where is not None
    condition = _equality(plain, bindings, reader) if plain.equality is not None else None
    position, page = reader.page_at_position(
        Planner(bindings).condition(plain.parsed.where) if condition is None else condition, skip, take)
    if not ((take is None or len(page) < take) and (page or skip == 0)):
        return None
    # As ``indexed.answer``: the total counts the page's numbers, its results the documents still stored.
    return position, [orjson.loads(body) for _, body in page if body is not None], skip + len(page)


def _equality(plain: PlainQuery, bindings: Bindings, reader: IndexReader) -> Compiled | None:
    """The statement of ``where Field = value`` whose value has one string or number key, from the
    statement compiled for the first such query (its parameters being the field's number and the key,
    which is checked when it is made); None for other values (the planner compiles them)."""
    assert plain.equality is not None
    field_name, value = plain.equality
    found = bindings.value(value)
    if type(found) is str and (token := found.strip().lower()) not in ("true", "false") \
            and string_number(token) is None:
        key: Key = ("str", found.lower())  # what ``query_keys`` gives such a string, found without sets
        keys = {key}
    else:
        values = bindings.values([value])
        if len(values) != 1:
            return None
        keys = query_keys(values[0])  # as the planner reads it: "12" also finds 12
        if len(keys) != 1:
            return None
        (key,) = keys
        if key[0] not in ("str", "num"):
            return None
    template = plain.templates.get(key[0])
    if template is not None and template.fields is reader.fields:
        return Compiled(template.sql, (template.field, key[1]))
    compiled = reader.compile(plan.Equals(field_name, frozenset(keys), False))
    params = compiled.params
    if len(params) == 2 and isinstance(params[0], int) and params[1] == key[1]:
        plain.templates[key[0]] = _Template(reader.fields, compiled.sql, params[0])
    return compiled
