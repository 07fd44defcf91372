"""A parsed query bound to its parameters: resolved values, alias-free paths, paging numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from rookdb.errors import InvalidQueryError
from rookdb.indexes.values import values_at
from rookdb.query import ast

__all__ = ["COMPARE_EXCHANGE_PARAMETER", "Bindings", "Getter", "check_parameters", "compare_exchange_keys", "doc_id"]

COMPARE_EXCHANGE_PARAMETER = "rookdb.cmpxchg/"
"""Prefix of the parameters holding the values ``cmpxchg(key)`` reads (``rookdb.cmpxchg/<key>``): the
database looks them up before the query runs (``compare_exchange_keys``); no RQL ``$param`` can name one."""

Getter: TypeAlias = Callable[[dict[str, Any]], list[Any]]


def doc_id(document: dict[str, Any]) -> str:
    """The ``@id`` of a document as its metadata spells it ('' when it has none)."""
    found = (document.get("@metadata") or {}).get("@id")
    return found if isinstance(found, str) else ""


def check_parameters(query: ast.Query, parameters: Mapping[str, Any], text: str) -> None:
    """``InvalidQueryError`` at the first ``$parameter`` the request did not supply."""
    for parameter in query.parameters():
        if parameter.name not in parameters:
            raise InvalidQueryError(
                f"Query parameter '${parameter.name}' was used in the query but not supplied "
                f"in QueryParameters",
                query=text,
                position=parameter.position,
            )


def compare_exchange_keys(query: ast.Query, parameters: Mapping[str, Any]) -> list[str]:
    """The keys the query's ``cmpxchg(key)`` values read (those given as text)."""
    keys: list[str] = []
    for node in query.nodes_of(ast.CompareExchangeValue):
        key = parameters.get(node.key.name) if isinstance(node.key, ast.Parameter) else node.key.value
        if isinstance(key, str):
            keys.append(key)
    return keys


class Bindings:
    """Resolves a query's values against its parameters (once per query)."""

    def __init__(self, parameters: Mapping[str, Any], alias: str | None, text: str) -> None:
        self.parameters = parameters
        self.alias = alias
        self.text = text

    def value(self, value: ast.Value) -> Any:
        if isinstance(value, ast.Parameter):
            return self.parameters[value.name]
        if isinstance(value, ast.CompareExchangeValue):
            return self.parameters.get(COMPARE_EXCHANGE_PARAMETER + str(self.value(value.key)).lower())
        return value.value

    def values(self, values: Iterable[ast.Value]) -> list[Any]:
        # "in ($p0)" with a list parameter is how the client sends a whole list.
        resolved: list[Any] = []
        for value in values:
            item = self.value(value)
            resolved.extend(item if isinstance(item, list) else (item,))
        return resolved

    def names(self, path: ast.FieldPath) -> tuple[str, ...]:
        """The property names a path walks, without the ``from ... as x`` alias."""
        names = tuple(segment.name for segment in path.segments)
        if self.alias is not None and len(names) > 1 and names[0] == self.alias:
            return names[1:]
        return names

    def getter(self, target: ast.Field, *, flatten: bool = True) -> Getter:
        if isinstance(target, ast.IdField):
            return lambda doc: [doc_id(doc)]
        names = self.names(target)
        return lambda doc: values_at(doc, names, flatten=flatten)

    def paging(self, value: ast.Value | None, clause: str) -> int | None:
        if value is None:
            return None
        number = self.value(value)
        if number is None:
            return None
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            position = value.position if isinstance(value, ast.Parameter) else None
            raise InvalidQueryError(f"The {clause} must be a non-negative integer, got {number!r}", self.text,
                                    position)
        return number

    def number(self, value: ast.Value, what: str) -> float:
        number = self.value(value)
        if not isinstance(number, int | float) or isinstance(number, bool):
            position = value.position if isinstance(value, ast.Parameter) else None
            raise InvalidQueryError(f"The {what} factor must be a number, got {number!r}", query=self.text,
                                    position=position)
        return float(number)

    def window(self, query: ast.Query, start: int, page_size: int | None) -> tuple[int, int | None]:
        """(skip, take): RQL ``offset``/``limit`` win over the request's ``start``/``pageSize``."""
        skip = self.paging(query.offset, "offset")
        take = self.paging(query.limit, "limit")
        skip = max(start, 0) if skip is None else skip
        take = page_size if take is None else take
        return skip, None if take is None else max(take, 0)
