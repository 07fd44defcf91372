"""The syntax of RQL facets: ``select facet(...) [as name], ...``.

A facet counts the matching documents by the values of one field (``facet(Brand)``), by ranges of one
field (``facet(Price < 10, Price between 10 and 50)``), or over every match (``facet()`` with
aggregations only); ``facet(id('facets/x'))`` takes its facets from a stored FacetSetup document.
Aggregations (``sum``, ``min``, ``max``, ``avg``) add figures over another field to each value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

from rookdb.query.nodes import FieldPath, Literal, Node, Parameter, name_text

__all__ = ["Facet", "FacetAggregation", "FacetOperation"]

FacetOperation = TypingLiteral["sum", "min", "max", "avg"]


@dataclass(frozen=True, slots=True)
class FacetAggregation(Node):
    """``sum(Field) [as Name]`` inside a facet."""

    operation: FacetOperation
    field: FieldPath
    alias: str | None = None

    def to_rql(self) -> str:
        alias = f" as {name_text(self.alias)}" if self.alias is not None else ""
        return f"{self.operation}({self.field.to_rql()}){alias}"


@dataclass(frozen=True, slots=True)
class Facet(Node):
    """One ``facet(...)`` of a select: by ``field``, by ``ranges`` (comparisons, ``between`` and ``and``
    of those, all on one field), or the facets of the FacetSetup document ``setup`` names."""

    field: FieldPath | None = None
    ranges: tuple[Node, ...] = ()
    setup: Literal | Parameter | None = None
    aggregations: tuple[FacetAggregation, ...] = ()
    options: Parameter | None = None
    alias: str | None = None

    def to_rql(self) -> str:
        if self.setup is not None:
            return f"facet(id({self.setup.to_rql()}))"
        arguments = [self.field.to_rql()] if self.field is not None else [item.to_rql() for item in self.ranges]
        arguments += [aggregation.to_rql() for aggregation in self.aggregations]
        if self.options is not None:
            arguments.append(self.options.to_rql())
        alias = f" as {name_text(self.alias)}" if self.alias is not None else ""
        return f"facet({', '.join(arguments)}){alias}"
