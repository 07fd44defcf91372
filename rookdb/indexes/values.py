"""How a JSON value is indexed: the values a path reaches, their text, their typed keys, their number.

These are RavenDB's auto-index rules as rookdb applies them everywhere (the index when it stores a
document, the query layer when it compares or sorts without an index):

* a path walks arrays element by element whether or not it marks them with ``[]``
  (``Lines.ProductName`` and ``Lines[].ProductName`` reach the same values), and an array at the end
  of a path fans out into its elements;
* a value's text is the string itself, ``true``/``false``, or the number as Python spells it
  (``18.0``); null and containers have none;
* equality compares typed keys: strings lower-cased (unless ``exact``), numbers as floats, booleans,
  and null; a number and its text are different keys, the query side decides which it accepts;
* the numeric form (``as long``/``as double`` ordering) is the number, or the number a string spells.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

__all__ = [
    "Key",
    "TimeSpanText",
    "equality_keys",
    "is_number",
    "leaves",
    "number_of",
    "string_number",
    "text_of",
    "values_at",
]

_NUMBER_START = frozenset("+-.iInN")
_RECURSION_LIMIT = 64

Key: TypeAlias = tuple[Any, ...]
"""A typed equality key: ``("str", text)``, ``("num", float)``, ``("bool", b)`` or ``("null",)``."""


class TimeSpanText(str):
    """A .NET ``TimeSpan`` a static index produced, as RavenDB writes it (``02:00:00``), knowing its ticks:
    the index keeps the text and the number of ticks, so ranges compare durations as numbers (the
    clients send a ``TimeSpan`` query value as its ticks)."""

    ticks: int

    def __new__(cls, text: str, ticks: int) -> TimeSpanText:
        made = super().__new__(cls, text)
        made.ticks = ticks
        return made


def is_number(value: Any) -> bool:
    """True for JSON numbers (booleans are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def values_at(document: Any, names: Sequence[str], *, flatten: bool = True) -> list[Any]:
    """Every value ``names`` reaches; ``[]`` when the path is missing, ``[None]`` for a null.

    With ``flatten`` (the default) arrays at the end of the path contribute their elements, so
    a comparison matches when any element does; without it each array is returned as one value.
    """
    current = [document]
    for name in names:
        reached: list[Any] = []
        for item in current:
            if isinstance(item, dict):
                if name in item:
                    reached.append(item[name])
            elif isinstance(item, list):  # arrays met along the path are walked
                reached.extend(leaf[name] for leaf in leaves(item) if isinstance(leaf, dict) and name in leaf)
        if not reached:
            return reached
        current = reached
    if flatten and any(isinstance(value, list) for value in current):
        return leaves(current)
    return current


def leaves(values: Iterable[Any]) -> list[Any]:
    """The leaves of ``values``: nested arrays are walked in order, at any depth."""
    found: list[Any] = []
    _collect(values, found, 0)
    return found


def _collect(values: Iterable[Any], found: list[Any], depth: int) -> None:
    for value in values:
        if not isinstance(value, list):
            found.append(value)
        elif depth < _RECURSION_LIMIT:
            _collect(value, found, depth + 1)
        else:  # pathological nesting: walk it without recursion
            stack: list[Any] = [iter(value)]
            while stack:
                for item in stack[-1]:
                    if isinstance(item, list):
                        stack.append(iter(item))
                        break
                    found.append(item)
                else:
                    stack.pop()


def text_of(value: Any) -> str | None:
    """The text a scalar is indexed as (``true``, ``18.0``, the string); None for null and containers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return str(value)
    return None


def equality_keys(value: Any, exact: bool = False) -> tuple[Key, ...]:
    """The keys a document value matches under ``=``; two values are equal when their keys meet."""
    if value is None:
        return (("null",),)
    if isinstance(value, bool):
        return (("bool", value),)
    if is_number(value):
        return (("num", float(value)),)
    if isinstance(value, str):
        return (("str", value if exact else value.lower()),)
    return ()


def number_of(value: Any) -> float | None:
    """The numeric form: a finite number, or the finite number a string spells (``"5467"``); else None."""
    if is_number(value):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        return string_number(value)
    return None


def string_number(text: str) -> float | None:
    """The finite number a string spells, as Python's ``float`` reads it; else None."""
    # float() only accepts a sign, a digit, a dot, "inf"/"nan" or whitespace first: skip the exception otherwise.
    if not text or not (text[0] in _NUMBER_START or text[0].isdigit() or text[0].isspace()):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
