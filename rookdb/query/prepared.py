"""Plans of plain dynamic queries, kept per query text: what a query works out before it reads its
index, worked out once.

On every run the general path parses the text, looks it over for compare-exchange values, vector
clauses and aggregates, goes through ``run_dynamic`` to ``run_plain`` and there finds the auto-index
covering the query's fields. For a plain query (``rookdb.query.plain``) all of it depends on the text
and on the table of indexes alone. A plan keeps the parsed query with its plain facts (among them the
statement of ``where Field = value`` by the kind of its value: the parameter shape) and the auto-index
``IndexRegistry.covering`` answers with, for as long as the table stays as it was
(``IndexRegistry.version``: an index created, merged, reset or deleted, or a side-by-side build swapped
in, changes it). A run binds its parameters and answers from that index with ``answer_entered``, the
function ``run_plain`` ends in, so results, ordering, errors, staleness and positions are the general
path's.

When the plan cannot answer (a text that is not a plain query, no covering index yet, an index with
changes to apply) ``answer`` returns None having changed nothing, and the general path runs: it
creates, catches up or waits for the index as before. The number of plans is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rookdb.errors import RookError
from rookdb.indexes.index import Index, IndexRetiredError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query import ast
from rookdb.query.deadline import Deadline
from rookdb.query.executor import QueryResult, QuerySource
from rookdb.query.parser import parse_query
from rookdb.query.plain import PlainQuery, answer_entered, bind, plain_query

__all__ = ["DEFAULT_PLANNED_QUERIES", "PreparedQueries"]

DEFAULT_PLANNED_QUERIES = 1024
"""How many query texts keep their plan (clients reuse texts, with ``$p0``...); past it they start over."""

_AGGREGATES = (ast.GroupKey, ast.CountAggregate, ast.SumAggregate)
_UNBOUND: tuple[int, Index | None] = (-1, None)


class _Plan:
    """A plain query's facts and the index it was last answered from, with the table's version then."""

    __slots__ = ("bound", "plain")

    def __init__(self, plain: PlainQuery | None) -> None:
        self.plain = plain
        """None for a text that is not a plain query."""
        self.bound = _UNBOUND
        """(version, index), replaced as one: threads running the same text read one or the other."""


class PreparedQueries:
    """The plans of one registry's plain queries, by text. Thread-safe."""

    def __init__(self, registry: IndexRegistry, size: int = DEFAULT_PLANNED_QUERIES) -> None:
        self.registry = registry
        self._size = size
        self._plans: dict[str, _Plan] = {}

    def __len__(self) -> int:
        """How many texts have a plan (or are known to have none)."""
        return len(self._plans)

    def answer(self, text: str, parameters: Mapping[str, Any], source: QuerySource, *, start: int = 0,
               page_size: int | None = None, order_by_score: bool = True, deadline: Deadline) -> QueryResult | None:
        """The result of ``text`` from its plan, as the general path gives it (for a client that does not
        wait for non-stale results); None when the general path must run instead. Raises the general
        path's errors for missing or bad parameters."""
        began = time.perf_counter()
        plan = self._plans.get(text) or self._plan(text)
        plain = plan.plain
        if plain is None:
            return None
        bindings, skip, take = bind(plain, parameters, start, page_size)
        index = self._enter(plan)
        if index is None:
            return None
        return answer_entered(plain, index, bindings, source, skip=skip, take=take, order_by_score=order_by_score,
                              deadline=deadline, began=began)

    def _enter(self, plan: _Plan) -> Index | None:
        """The index ``covering`` would answer the plan with, entered; None when there is none yet."""
        version, index = plan.bound
        if index is not None and version == self.registry.version:
            try:
                index.enter()
                return index
            except IndexRetiredError:
                pass  # being swapped or deleted: ``covering`` finds what takes its place
        registry, plain = self.registry, plan.plain
        assert plain is not None
        version = registry.version
        index = registry.covering(plain.collection, plain.fields)
        if index is not None and registry.kept_covering(plain.collection, plain.fields) is index:
            plan.bound = (version, index)
        else:
            plan.bound = _UNBOUND
        return index

    def _plan(self, text: str) -> _Plan:
        try:
            parsed = parse_query(text)
        except RookError:
            return _NOT_PLAIN  # not kept: the general path raises the same error
        plain = None
        # Compare-exchange values are read before the query runs; aggregates outside ``group by`` fail.
        if not parsed.nodes_of(ast.CompareExchangeValue) and not any(
                isinstance(order.target, _AGGREGATES) for order in parsed.order_by):
            plain = plain_query(text, parsed)
        plan = _NOT_PLAIN if plain is None else _Plan(plain)
        if len(self._plans) >= self._size:
            self._plans.clear()
        self._plans[text] = plan
        return plan


_NOT_PLAIN = _Plan(None)
