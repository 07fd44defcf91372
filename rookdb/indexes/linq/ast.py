"""The syntax tree of a LINQ map or reduce: expressions, lambdas and query expressions.

Every node records where it starts in the source (``line``, ``column``, 1-based) so that compilation
errors can point at the construct. ``to_json`` gives a position-free form for parser tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "AnonymousObject",
    "Binary",
    "Call",
    "Cast",
    "Coalesce",
    "Conditional",
    "Continuation",
    "Element",
    "Expr",
    "FromClause",
    "GroupClause",
    "IsNull",
    "Lambda",
    "LetClause",
    "Literal",
    "Member",
    "Name",
    "NewArray",
    "Node",
    "OrderByClause",
    "Ordering",
    "Query",
    "QueryBody",
    "SelectClause",
    "Unary",
    "WhereClause",
]


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every node; ``line``/``column`` locate it in the source (0 when built by hand)."""

    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The node as JSON, ``{"type": <class name>, <field>: ...}``, positions left out."""
        result: dict[str, Any] = {"type": type(self).__name__}
        for item in dataclasses.fields(self):
            if item.compare:
                result[item.name] = _json(getattr(self, item.name))
        return result

    @property
    def where(self) -> str:
        return f"line {self.line}, column {self.column}"


def _json(value: Any) -> Any:
    if isinstance(value, Node):
        return value.to_json()
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A string, character, number, boolean or null; ``text`` keeps a number's spelling (``1.5m``)."""

    value: Any
    text: str = ""


@dataclass(frozen=True, slots=True)
class Name(Node):
    """An identifier: a range variable, a lambda parameter, ``docs``, ``results`` or a static class."""

    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``target.name``, or ``target?.name`` with ``conditional``."""

    target: Expr
    name: str
    conditional: bool = False


@dataclass(frozen=True, slots=True)
class Element(Node):
    """``target[index]``, or ``target?[index]`` with ``conditional``."""

    target: Expr
    index: Expr
    conditional: bool = False


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A method call ``target.name(...)`` or, with no target, a function ``name(...)`` (``this.name(...)``
    is written as a function). ``type_arguments`` is the text of ``<...>`` when given."""

    target: Expr | None
    name: str
    arguments: tuple[Expr, ...]
    conditional: bool = False
    type_arguments: str | None = None


@dataclass(frozen=True, slots=True)
class Lambda(Node):
    """``x => body`` or ``(x, y) => body``."""

    parameters: tuple[str, ...]
    body: Expr


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic, comparison and logical operators: ``+ - * / % == != < <= > >= && ||``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``!x``, ``-x``, ``+x``."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """``test ? then : otherwise``."""

    test: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Coalesce(Node):
    """``left ?? right``."""

    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Cast(Node):
    """``(target_type)operand``; ``nullable`` for ``(double?)``."""

    target_type: str
    nullable: bool
    operand: Expr


@dataclass(frozen=True, slots=True)
class IsNull(Node):
    """``operand is null`` (``negated``: ``is not null``)."""

    operand: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True)
class AnonymousObject(Node):
    """``new { A = x, y.B }``: members in order, each named (a projection is named after its last name);
    ``type_name`` for ``new CreateFieldOptions { ... }``."""

    members: tuple[tuple[str, Expr], ...]
    type_name: str | None = None


@dataclass(frozen=True, slots=True)
class NewArray(Node):
    """``new[] { a, b }`` or ``new object[] { ... }``."""

    items: tuple[Expr, ...]


# ---- query syntax -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FromClause(Node):
    """``from name in source``."""

    name: str
    source: Expr


@dataclass(frozen=True, slots=True)
class LetClause(Node):
    name: str
    value: Expr


@dataclass(frozen=True, slots=True)
class WhereClause(Node):
    condition: Expr


@dataclass(frozen=True, slots=True)
class Ordering(Node):
    key: Expr
    descending: bool = False


@dataclass(frozen=True, slots=True)
class OrderByClause(Node):
    orderings: tuple[Ordering, ...]


@dataclass(frozen=True, slots=True)
class SelectClause(Node):
    value: Expr


@dataclass(frozen=True, slots=True)
class GroupClause(Node):
    """``group element by key``."""

    element: Expr
    key: Expr


@dataclass(frozen=True, slots=True)
class Continuation(Node):
    """``into name`` followed by the rest of the query."""

    name: str
    body: QueryBody


@dataclass(frozen=True, slots=True)
class QueryBody(Node):
    clauses: tuple[FromClause | LetClause | WhereClause | OrderByClause, ...]
    final: SelectClause | GroupClause
    continuation: Continuation | None = None


@dataclass(frozen=True, slots=True)
class Query(Node):
    """``from x in source <body>``."""

    first: FromClause
    body: QueryBody


Expr: TypeAlias = (
    Literal | Name | Member | Element | Call | Lambda | Binary | Unary | Conditional | Coalesce | Cast | IsNull
    | AnonymousObject | NewArray | Query
)
