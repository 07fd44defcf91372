"""Dynamic ``group by`` queries, answered by auto map-reduce indexes as RavenDB answers them.

``from Orders group by Company where count() > 5 order by count() desc select key() as Company, count()``
names its index by what it groups by and what it aggregates (``count()``, ``sum(Field)``, in ``select``
and ``order by``): ``Auto/Orders/ByCountReducedByCompany``. The query's ``where`` and ``order by`` then
run over the index's results (the groups), where a field is a group-by field, an aggregation, or an
alias ``select`` gave one (in ``where``, ``count()`` is the field ``Count`` and ``sum(X)`` the field ``X``, as
RavenDB reads them); anything else is refused, as RavenDB refuses it. ``select`` shapes each group:
``key()`` is its group-by value (an object of them when there are several), ``count()`` and
``sum(Field)`` its aggregations, and a group-by path its value. ``include`` paths are read in the groups
returned, as RavenDB reads them in a map-reduce query's results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rookdb.errors import InvalidQueryError, RookError
from rookdb.indexes.auto_map_reduce import COUNT_FIELD, Aggregation, GroupByField
from rookdb.indexes.registry import IndexRegistry
from rookdb.query import ast
from rookdb.query.bindings import Bindings
from rookdb.query.deadline import NO_DEADLINE, Deadline
from rookdb.query.executor import QueryResult, QuerySource
from rookdb.query.index_names import index_field
from rookdb.query.indexed import IndexShape
from rookdb.query.named import answer_from
from rookdb.query.parse_errors import at_position
from rookdb.query.results import gather_includes

__all__ = ["GroupQuery", "plan_group_query", "refuse_aggregates", "run_group_by"]

_COUNT_PATH = ast.FieldPath((ast.PathSegment(COUNT_FIELD),))
_RESULTS = IndexShape(results_stored=True)


@dataclass(frozen=True)
class _Output:
    """One ``select`` item: the name it is returned under and the result fields it reads."""

    name: str
    fields: tuple[str, ...]
    whole_key: bool = False


@dataclass(frozen=True)
class GroupQuery:
    """A ``group by`` query planned: the index it needs and the query over that index's results."""

    collection: str | None
    group_by: tuple[GroupByField, ...]
    aggregations: tuple[Aggregation, ...]
    where: ast.Expr | None
    order_by: tuple[ast.OrderBy, ...]
    outputs: tuple[_Output, ...] | None

    def results_query(self, index_name: str, query: ast.Query) -> ast.Query:
        """The query over the index's results (its fields named as the index names them)."""
        return ast.Query(ast.Source("index", index_name), where=self.where, order_by=self.order_by,
                         limit=query.limit, offset=query.offset)

    def shape(self, result: dict[str, Any]) -> dict[str, Any]:
        """A group as the query returns it."""
        if self.outputs is None:
            return result
        shaped: dict[str, Any] = {}
        for output in self.outputs:
            if output.whole_key:
                shaped[output.name] = {name: result.get(name) for name in output.fields}
            else:
                shaped[output.name] = result.get(output.fields[0])
        shaped["@metadata"] = {"@projection": True}
        return shaped


class _Planner:
    def __init__(self, query: ast.Query, text: str) -> None:
        self.query = query
        self.text = text
        self.alias = query.source.alias
        self.group_by: dict[str, GroupByField] = {}
        self.paths: dict[str, ast.FieldPath] = {}
        """Result field → the path naming it in the query over the results."""
        self.aggregations: dict[str, Aggregation] = {}
        self.aliases: dict[str, str] = {}

    def fail(self, message: str, position: int | None = None) -> InvalidQueryError:
        """The error for ``message``, pointing at ``position`` in the query when it is known."""
        return InvalidQueryError(message, self.text) if position is None else at_position(message, self.text, position)

    def path(self, path: ast.FieldPath) -> tuple[str, ast.FieldPath]:
        """The result field a document path names, and the path without the ``from ... as x`` alias."""
        segments = path.segments
        if self.alias is not None and len(segments) > 1 and segments[0].name == self.alias:
            segments = segments[1:]
        return index_field(path, self.alias), ast.FieldPath(segments)

    def add_group_by(self, item: ast.GroupByItem) -> None:
        name, path = self.path(item.path)
        if name in self.group_by:
            raise self.fail(f"Duplicate group by field '{name}'")
        segments = tuple((segment.name, segment.array) for segment in path.segments)
        self.group_by[name] = GroupByField(name, segments, item.by_content)
        self.paths[name] = path

    def aggregate(self, node: ast.CountAggregate | ast.SumAggregate) -> str:
        """Declare an aggregation; the result field holding it."""
        if isinstance(node, ast.CountAggregate):
            self.aggregations.setdefault(COUNT_FIELD, Aggregation(COUNT_FIELD, "Count"))
            self.paths[COUNT_FIELD] = _COUNT_PATH
            return COUNT_FIELD
        name, path = self.path(node.path)
        if name in self.group_by:
            raise self.fail(f"Cannot sum '{name}': it is a group by field")
        segments = tuple((segment.name, segment.array) for segment in path.segments)
        self.aggregations.setdefault(name, Aggregation(name, "Sum", segments))
        self.paths[name] = path
        return name

    def output(self, projection: ast.Projection) -> _Output:
        target = projection.field
        if isinstance(target, ast.IdField):
            raise self.fail("Cannot use id() in a group by query: its results are groups, not documents")
        if isinstance(target, ast.GroupKey):
            keys = tuple(self.group_by)
            if len(keys) == 1:
                if projection.alias is not None:
                    self.aliases[projection.alias] = keys[0]
                return _Output(projection.alias or keys[0], keys)
            return _Output(projection.alias or "Key", keys, whole_key=True)
        if isinstance(target, ast.CountAggregate | ast.SumAggregate):
            field = self.aggregate(target)
        else:
            field = self.known(target)
        if projection.alias is not None and projection.alias != field:
            self.aliases[projection.alias] = field
        return _Output(projection.alias or field, (field,))

    def known(self, path: ast.FieldPath) -> str:
        """The result field a path names in ``select``, ``where`` or ``order by``."""
        name, _ = self.path(path)
        if name in self.group_by or name in self.aggregations:
            return name
        aliased = self.aliases.get(name)
        if aliased is not None:
            return aliased
        raise self.fail(f"Field '{name}' isn't neither an aggregation operation nor part of the group by key",
                        path.position)

    def order(self, order: ast.OrderBy) -> ast.OrderBy:
        target = order.target
        if isinstance(target, ast.CountAggregate):
            return dataclasses.replace(order, target=self.paths[self.aggregate(target)],
                                       ordering=order.ordering or "long")
        if isinstance(target, ast.SumAggregate):
            return dataclasses.replace(order, target=self.paths[self.aggregate(target)],
                                       ordering=order.ordering or "double")
        if isinstance(target, ast.IdField):
            raise self.fail("Cannot order a group by query by id(): its results are groups, not documents")
        if isinstance(target, ast.FieldPath):
            return dataclasses.replace(order, target=self.paths[self.known(target)])
        return order

    def where(self, expr: ast.Expr) -> ast.Expr:
        renamed = _renamed(expr, self)
        assert isinstance(renamed, ast.Node)
        return renamed  # type: ignore[return-value]


def _renamed(node: Any, planner: _Planner) -> Any:
    """``node`` with every field path naming the result field it refers to."""
    if isinstance(node, ast.FieldPath):
        return planner.paths[planner.known(node)]
    if isinstance(node, ast.IdField):
        raise planner.fail("Cannot filter a group by query by id(): its results are groups, not documents")
    if isinstance(node, ast.VectorSearch):
        raise planner.fail("vector.search() cannot be used in a group by query")
    if isinstance(node, tuple):
        return tuple(_renamed(item, planner) for item in node)
    if isinstance(node, ast.Node) and dataclasses.is_dataclass(node):
        changes = {f.name: _renamed(getattr(node, f.name), planner) for f in dataclasses.fields(node) if f.compare}
        return dataclasses.replace(node, **changes)
    return node


def refuse_aggregates(query: ast.Query, text: str) -> None:
    """``InvalidQueryError`` when a query without ``group by`` selects or orders by ``key()``, ``count()`` or
    ``sum()``."""
    targets: list[ast.Node] = [order.target for order in query.order_by]
    if query.select is not None:
        targets.extend(projection.field for projection in query.select.projections)
    for target in targets:
        if isinstance(target, ast.GroupKey | ast.CountAggregate | ast.SumAggregate):
            raise ast.outside_group_by(target, text)


def plan_group_query(query: ast.Query, text: str) -> GroupQuery:
    """Check a ``group by`` query and plan it; ``InvalidQueryError`` for what RavenDB refuses."""
    if query.source.kind == "index":
        raise InvalidQueryError("A query on an index cannot have a group by clause: group by needs a collection "
                                "(its auto map-reduce index is made for it)", text)
    if query.javascript is not None:
        raise InvalidQueryError("A group by query cannot have a JavaScript projection", text)
    if query.select is not None and query.select.distinct:
        raise InvalidQueryError("A group by query cannot be distinct: its groups already are", text)
    planner = _Planner(query, text)
    for item in query.group_by:
        planner.add_group_by(item)
    outputs = None
    if query.select is not None:
        outputs = tuple(planner.output(projection) for projection in query.select.projections)
    order_by = tuple(planner.order(order) for order in query.order_by)
    where = planner.where(query.where) if query.where is not None else None
    collection = query.source.name if query.source.kind == "collection" else None
    return GroupQuery(collection, tuple(planner.group_by.values()), tuple(planner.aggregations.values()), where,
                      order_by, outputs)


def run_group_by(query: str, parsed: ast.Query, parameters: Mapping[str, Any], source: QuerySource,
                 indexes: IndexRegistry | None, *, start: int = 0, page_size: int | None = None,
                 wait_for_non_stale: float | None = None, stale: bool = False,
                 deadline: Deadline = NO_DEADLINE) -> QueryResult:
    """Run a ``group by`` query from its auto map-reduce index."""
    planned = plan_group_query(parsed, query)
    if indexes is None:
        raise RookError("This database was opened without its indexes: group by queries need them.")
    with indexes.for_group_query(planned.collection, planned.group_by, planned.aggregations,
                                 wait=wait_for_non_stale) as chosen:
        over_results = planned.results_query(chosen.index.name, parsed)
        result = answer_from(chosen, over_results.to_rql(), over_results, parameters, source, start=start,
                             page_size=page_size, vector_search=None, order_by_score=True, stale=stale,
                             shape=_RESULTS, deadline=deadline)
    result.results = [planned.shape(row) for row in result.results]
    if parsed.include:  # as RavenDB: the paths are read in the groups returned (after select shaped them)
        bindings = Bindings(parameters, parsed.source.alias, query)
        result.includes = gather_includes(result.results, parsed.include, bindings, source)
        result.included_paths = [path.dotted for path in parsed.include]
    return result
