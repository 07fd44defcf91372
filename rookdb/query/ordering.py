"""Collation: how RQL compares and sorts JSON values, following RavenDB's auto-indexes.

Auto-indexes store strings lower-cased (exact matches ignore case unless ``exact()`` is used),
store numbers both as text and as numbers, and sort by the lower-cased text unless the query says
``as long``, ``as double`` or ``as alphaNumeric``. Missing and null values sort first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

from rookdb.indexes.values import equality_keys, is_number, number_of, string_number, text_of

__all__ = [
    "equality_keys",
    "query_keys",
    "range_operand",
    "sort_in_place",
    "sort_key",
    "text_of",
]

_T = TypeVar("_T")
_DIGITS = re.compile(r"(\d+)")

# Ranks place a value's kind before its key, so keys of different kinds are never compared.
_MISSING_RANK = 0
_VALUE_RANK = 1


def query_keys(value: Any, exact: bool = False) -> set[Any]:
    """The keys a query value accepts.

    A string also accepts the number or boolean it spells, because the index holds every number
    and boolean as text too (``Quantity = '12'`` finds 12). A number only matches numbers.
    """
    keys = set(equality_keys(value, exact))
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            keys.add(("bool", lowered == "true"))
        else:
            number = string_number(lowered)
            if number is not None:
                keys.add(("num", number))
    return keys


def range_operand(value: Any, exact: bool = False) -> tuple[Literal["num", "str"], Any] | None:
    """The comparable form of a value in ``<``, ``>``, ``between``: ``("num", x)`` or ``("str", text)``."""
    if is_number(value):
        return "num", float(value)
    if isinstance(value, str):
        return "str", value if exact else value.lower()
    return None


def sort_key(
    values: Sequence[Any], ordering: str | None, missing_rank: int = _MISSING_RANK
) -> tuple[Any, ...]:
    """The key of one document for one ``order by`` item; ``values`` are what the field holds.

    A multi-valued field sorts by its first value. Values that do not fit the ordering (text under
    ``as double``) count as missing; ``missing_rank`` is 0 to put them first, 2 to put them last.
    """
    value = values[0] if values else None
    if ordering in ("long", "double"):
        number = number_of(value)  # a numeric string sorts as its number
        if number is None:
            return (missing_rank,)
        return (_VALUE_RANK, int(number) if ordering == "long" else number)
    text = text_of(value)
    if text is None:
        return (missing_rank,)
    if ordering == "alphaNumeric":
        return (_VALUE_RANK, _natural_key(text.lower()))
    return (_VALUE_RANK, text.lower())


def _natural_key(text: str) -> tuple[tuple[int, Any], ...]:
    # Digit runs compare as numbers and text runs as text: "item2" < "item10".
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part)


def sort_in_place(rows: list[_T], keys: Iterable[tuple[Callable[[_T], Any], bool]]) -> None:
    """Sort by several ``(key, descending)`` pairs, the first most significant; ties keep their order."""
    for key, descending in reversed(list(keys)):
        rows.sort(key=key, reverse=descending)
