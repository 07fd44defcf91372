"""The syntax of dynamic ``group by`` queries: ``group by`` items, and the aggregations and group key
that ``select`` and ``order by`` may name (``count()``, ``sum(Field)``, ``key()``)."""

from __future__ import annotations

from dataclasses import dataclass

from rookdb.errors import InvalidQueryError
from rookdb.query.nodes import FieldPath, Node

__all__ = ["CountAggregate", "GroupByItem", "GroupKey", "SumAggregate", "outside_group_by"]


@dataclass(frozen=True, slots=True)
class GroupByItem(Node):
    """One ``group by`` item: a path (an array path groups by each element), or ``array(path)``, which
    groups by the array's whole content."""

    path: FieldPath
    by_content: bool = False

    def to_rql(self) -> str:
        return f"array({self.path.to_rql()})" if self.by_content else self.path.to_rql()


@dataclass(frozen=True, slots=True)
class GroupKey(Node):
    """``key()``: the group's key (its group-by values)."""

    def to_rql(self) -> str:
        return "key()"


@dataclass(frozen=True, slots=True)
class CountAggregate(Node):
    """``count()``: how many map outputs the group holds."""

    def to_rql(self) -> str:
        return "count()"


@dataclass(frozen=True, slots=True)
class SumAggregate(Node):
    """``sum(path)``: the sum of a numeric field over the group."""

    path: FieldPath

    def to_rql(self) -> str:
        return f"sum({self.path.to_rql()})"


def outside_group_by(node: Node, text: str) -> InvalidQueryError:
    """The error for ``key()``, ``count()`` or ``sum()`` in a query without ``group by`` (RavenDB refuses them)."""
    return InvalidQueryError(f"'{node.to_rql()}' can only be used in a group by query", text)
