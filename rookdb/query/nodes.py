"""The base of the RQL syntax tree (``Node``: canonical text, JSON form, walking) and its leaves:
values, parameters and field paths. ``rookdb.query.ast`` builds the expressions and clauses on them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

__all__ = [
    "CompareExchangeValue",
    "Field",
    "FieldPath",
    "IdField",
    "Literal",
    "Node",
    "Parameter",
    "PathSegment",
    "Scalar",
    "Value",
    "format_number",
    "name_text",
    "quote_string",
]

Scalar: TypeAlias = str | int | float | bool | None
_N = TypeVar("_N", bound="Node")

_IDENTIFIER = re.compile(r"(?!\d)[\w@]+")
# Words that would be read as keywords where a field or collection name is expected.
_RESERVED = frozenset({
    "all", "and", "as", "between", "false", "from", "in", "include", "index", "limit", "not", "null",
    "offset", "or", "order", "select", "true", "where",
})


def quote_string(text: str) -> str:
    """Render ``text`` as a single-quoted RQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_number(number: int | float) -> str:
    """Render a number the way the official client does (Python ``str``: ``0.8``, ``20``)."""
    return str(number)


def name_text(text: str) -> str:
    """A field, collection or alias name as RQL spells it: bare when it can be, else quoted."""
    if _IDENTIFIER.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return quote_string(text)


class Node:
    """Base of every syntax-tree node."""

    # The nodes ``walk`` yields, found on the first walk, and those of each kind asked for (``nodes_of``):
    # a node is frozen, and parsed queries (cached by their text) are searched on every run.
    __slots__ = ("_kinds", "_walked")
    _walked: tuple[Node, ...]
    _kinds: dict[Any, tuple[Node, ...]]

    def to_rql(self) -> str:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """The node as JSON: ``{"type": <class name>, <field>: ...}``, positions left out."""
        result: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.compare:
                result[f.name] = _json_value(getattr(self, f.name))
        return result

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, parents first."""
        try:
            walked = self._walked
        except AttributeError:
            walked = self._descendants()
            object.__setattr__(self, "_walked", walked)
        return iter(walked)

    def nodes_of(self, kind: type[_N] | tuple[type[_N], ...]) -> tuple[_N, ...]:
        """The nodes ``walk`` yields that are instances of ``kind``, in that order (found once per kind)."""
        try:
            kinds = self._kinds
        except AttributeError:
            kinds = {}
            object.__setattr__(self, "_kinds", kinds)
        found = kinds.get(kind)
        if found is None:
            found = kinds[kind] = tuple(node for node in self.walk() if isinstance(node, kind))
        return found  # type: ignore[return-value]

    def _descendants(self) -> tuple[Node, ...]:
        found: list[Node] = []
        pending: list[Node] = [self]
        while pending:
            node = pending.pop()
            found.append(node)
            children: list[Node] = []
            for name in _field_names(type(node)):
                child = getattr(node, name)
                for item in child if isinstance(child, tuple) else (child,):
                    if isinstance(item, Node):
                        children.append(item)
            pending.extend(reversed(children))
        return tuple(found)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _json_value(value: Any) -> Any:
    if isinstance(value, Node):
        return value.to_json()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


# ---- values and fields -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant: string, number, boolean or null."""

    value: Scalar

    def to_rql(self) -> str:
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, str):
            return quote_string(self.value)
        return format_number(self.value)


@dataclass(frozen=True, slots=True)
class Parameter(Node):
    """A ``$name`` reference, resolved from the request's ``QueryParameters``."""

    name: str
    position: int | None = field(default=None, compare=False, repr=False)

    def to_rql(self) -> str:
        return "$" + self.name


@dataclass(frozen=True, slots=True)
class CompareExchangeValue(Node):
    """``cmpxchg(key)`` as a value: the compare-exchange value stored under ``key`` (null when none)."""

    key: Literal | Parameter

    def to_rql(self) -> str:
        return f"cmpxchg({self.key.to_rql()})"


Value: TypeAlias = Literal | Parameter | CompareExchangeValue


@dataclass(frozen=True, slots=True)
class PathSegment(Node):
    """One step of a field path; ``array`` marks ``Lines[]``, ``quoted`` a ``'quoted name'``."""

    name: str
    array: bool = False
    quoted: bool = False
    position: int | None = field(default=None, compare=False, repr=False)

    def to_rql(self) -> str:
        text = quote_string(self.name) if self.quoted else self.name
        return text + ("[]" if self.array else "")


@dataclass(frozen=True, slots=True)
class FieldPath(Node):
    """A document field such as ``Name``, ``Address.City`` or ``Lines[].ProductName``."""

    segments: tuple[PathSegment, ...]

    def to_rql(self) -> str:
        return ".".join(segment.to_rql() for segment in self.segments)

    @property
    def position(self) -> int | None:
        """Where the path starts in the query text (None when built by hand)."""
        return self.segments[0].position if self.segments else None

    @property
    def dotted(self) -> str:
        """The path as RavenDB names it in auto-indexes and projections: ``Lines[].ProductName``."""
        return ".".join(s.name + ("[]" if s.array else "") for s in self.segments)


@dataclass(frozen=True, slots=True)
class IdField(Node):
    """``id()`` (or ``id(alias)``): the document id."""

    alias: str | None = None
    position: int | None = field(default=None, compare=False, repr=False)

    def to_rql(self) -> str:
        return f"id({self.alias or ''})"


Field: TypeAlias = FieldPath | IdField
