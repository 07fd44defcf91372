"""The methods a LINQ map may call: LINQ over sequences, string methods, ``Math``, ``string``,
``Convert`` and ``DateTime`` statics. Anything else is refused when the index is defined.

An instance method is looked up by name and works on whichever receiver the document gives it at run
time (``Contains`` on a string or on an array); called on null it is null, and a LINQ method called
on null sees an empty sequence (RavenDB's ``DynamicNullObject``). Lambdas arrive as ``Function``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rookdb.indexes.linq.runtime import (
    Grouping,
    LinqRuntimeError,
    arithmetic,
    cast,
    compare,
    csharp_text,
    equals,
    iterate,
    parse_date,
)

__all__ = [
    "INSTANCE_METHODS",
    "SEQUENCE_METHODS",
    "STATIC_MEMBERS",
    "STATIC_METHODS",
    "Function",
    "Signature",
    "group_by",
]


class Function:
    """A compiled lambda, callable with its parameters' values."""

    __slots__ = ("arity", "call")

    def __init__(self, arity: int, call: Callable[..., Any]) -> None:
        self.arity = arity
        self.call = call

    def __call__(self, *arguments: Any) -> Any:
        return self.call(*arguments)


@dataclass(frozen=True)
class Signature:
    """An implementation and how many arguments it takes."""

    implementation: Callable[..., Any]
    minimum: int
    maximum: int


def _function(value: Any, method: str) -> Function:
    if not isinstance(value, Function):
        raise LinqRuntimeError(f"{method}() needs a lambda")
    return value


def _indexed(function: Function, items: list[Any]) -> list[Any]:
    if function.arity == 2:
        return [function(item, position) for position, item in enumerate(items)]
    return [function(item) for item in items]


# ---- LINQ over sequences ------------------------------------------------------------------------


def _select(receiver: Any, selector: Any) -> list[Any]:
    return _indexed(_function(selector, "Select"), iterate(receiver))


def _select_many(receiver: Any, collection: Any, result: Any = None) -> list[Any]:
    many = _function(collection, "SelectMany")
    output: list[Any] = []
    for item in iterate(receiver):
        inner = iterate(many(item))
        if result is None:
            output.extend(inner)
        else:
            combine = _function(result, "SelectMany")
            output.extend(combine(item, value) for value in inner)
    return output


def _where(receiver: Any, predicate: Any) -> list[Any]:
    test = _function(predicate, "Where")
    items = iterate(receiver)
    if test.arity == 2:
        return [item for position, item in enumerate(items) if test(item, position) is True]
    return [item for item in items if test(item) is True]


def _values(receiver: Any, selector: Any, method: str) -> list[Any]:
    items = iterate(receiver)
    if selector is None:
        return items
    return [_function(selector, method)(item) for item in items]


def _sum(receiver: Any, selector: Any = None) -> Any:
    total: Any = 0
    for value in _values(receiver, selector, "Sum"):
        if value is not None:  # Sum over nullable values skips the nulls
            total = arithmetic("+", total, value)
    return total


def _count(receiver: Any, predicate: Any = None) -> int:
    if isinstance(receiver, str) and predicate is None:
        return len(receiver)
    items = iterate(receiver)
    if predicate is None:
        return len(items)
    test = _function(predicate, "Count")
    return sum(1 for item in items if test(item) is True)


def _any(receiver: Any, predicate: Any = None) -> bool:
    items = iterate(receiver)
    if predicate is None:
        return bool(items)
    test = _function(predicate, "Any")
    return any(test(item) is True for item in items)


def _all(receiver: Any, predicate: Any) -> bool:
    test = _function(predicate, "All")
    return all(test(item) is True for item in iterate(receiver))


def _first(or_default: bool, last: bool) -> Callable[..., Any]:
    def pick(receiver: Any, predicate: Any = None) -> Any:
        items = iterate(receiver)
        if predicate is not None:
            test = _function(predicate, "First")
            items = [item for item in items if test(item) is True]
        if not items:
            if or_default:
                return None
            raise LinqRuntimeError("Sequence contains no elements")
        return items[-1] if last else items[0]

    return pick


def _extreme(largest: bool) -> Callable[..., Any]:
    op = ">" if largest else "<"

    def pick(receiver: Any, selector: Any = None) -> Any:
        best: Any = None
        for value in _values(receiver, selector, "Max" if largest else "Min"):
            if value is not None and (best is None or compare(op, value, best)):
                best = value
        return best

    return pick


def _average(receiver: Any, selector: Any = None) -> Any:
    values = [value for value in _values(receiver, selector, "Average") if value is not None]
    if not values:
        return None
    total: Any = 0
    for value in values:
        total = arithmetic("+", total, value)
    return arithmetic("/", float(total), float(len(values)))


def _distinct(receiver: Any) -> list[Any]:
    seen: list[Any] = []
    for item in iterate(receiver):
        if not any(equals(item, known) for known in seen):
            seen.append(item)
    return seen


def _to_list(receiver: Any) -> list[Any]:
    return list(iterate(receiver))


def _order_by(descending: bool) -> Callable[..., list[Any]]:
    def order(receiver: Any, selector: Any = None) -> list[Any]:
        items = list(iterate(receiver))
        key: Callable[[Any], Any] = _function(selector, "OrderBy") if selector is not None else _identity
        keyed = [(key(item), item) for item in items]
        present = [pair for pair in keyed if pair[0] is not None]
        missing = [pair for pair in keyed if pair[0] is None]
        present.sort(key=lambda pair: _sort_key(pair[0]), reverse=descending)
        ordered = missing + present if not descending else present + missing
        return [item for _, item in ordered]

    return order


def _identity(value: Any) -> Any:
    return value


def _sort_key(value: Any) -> Any:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, csharp_text(value))


def _take(receiver: Any, count: Any) -> list[Any]:
    return list(iterate(receiver))[: max(int(count), 0)]


def _skip(receiver: Any, count: Any) -> list[Any]:
    return list(iterate(receiver))[max(int(count), 0):]


def _contains(receiver: Any, value: Any) -> bool:
    if isinstance(receiver, str):
        if not isinstance(value, str):
            raise LinqRuntimeError("string.Contains needs a string")
        return value in receiver
    return any(equals(item, value) for item in iterate(receiver))


def _concat(receiver: Any, other: Any) -> Any:
    if isinstance(receiver, str):
        return receiver + csharp_text(other)
    return [*iterate(receiver), *iterate(other)]


def _union(receiver: Any, other: Any) -> list[Any]:
    return _distinct([*iterate(receiver), *iterate(other)])


def _reverse(receiver: Any) -> list[Any]:
    return list(reversed(iterate(receiver)))


def _default_if_empty(receiver: Any, default: Any = None) -> list[Any]:
    items = iterate(receiver)
    return items if items else [default]


def group_by(items: list[Any], key: Callable[[Any], Any], element: Callable[[Any], Any] | None = None,
             ) -> list[Grouping]:
    """Groups in the order their keys first appear; keys compare as C# values (objects by members)."""
    groups: dict[str, Grouping] = {}
    for item in items:
        group_key = key(item)
        fingerprint = repr(_fingerprint(group_key))
        group = groups.get(fingerprint)
        if group is None:
            group = groups[fingerprint] = Grouping(group_key, [])
        group.items.append(item if element is None else element(item))
    return list(groups.values())


def _fingerprint(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((key, _fingerprint(item)) for key, item in value.items())
    if isinstance(value, list):
        return tuple(_fingerprint(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _group_by(receiver: Any, key: Any, element: Any = None) -> list[Grouping]:
    by = _function(key, "GroupBy")
    pick = _function(element, "GroupBy") if element is not None else None
    return group_by(iterate(receiver), by, pick)


# ---- strings and any value ----------------------------------------------------------------------


def _string(receiver: Any, method: str) -> str:
    if not isinstance(receiver, str):
        raise LinqRuntimeError(f"{method}() is a string method, not one of a {type(receiver).__name__}")
    return receiver


def _text_argument(value: Any, method: str) -> str:
    if not isinstance(value, str):
        raise LinqRuntimeError(f"{method}() needs a string argument")
    return value


def _trim(side: str) -> Callable[..., str]:
    def trim(receiver: Any, *characters: Any) -> str:
        text = _string(receiver, "Trim")
        chars = "".join(str(item) for item in characters) or None
        if side == "start":
            return text.lstrip(chars)
        if side == "end":
            return text.rstrip(chars)
        return text.strip(chars)

    return trim


def _substring(receiver: Any, start: Any, length: Any = None) -> str:
    text = _string(receiver, "Substring")
    begin = int(start)
    if begin < 0 or begin > len(text) or (length is not None and (int(length) < 0 or begin + int(length) > len(text))):
        raise LinqRuntimeError("Substring: the start index and length must refer to a location within the string")
    return text[begin:] if length is None else text[begin : begin + int(length)]


def _starts_with(receiver: Any, prefix: Any) -> bool:
    return _string(receiver, "StartsWith").startswith(_text_argument(prefix, "StartsWith"))


def _ends_with(receiver: Any, suffix: Any) -> bool:
    return _string(receiver, "EndsWith").endswith(_text_argument(suffix, "EndsWith"))


def _replace(receiver: Any, old: Any, new: Any) -> str:
    return _string(receiver, "Replace").replace(_text_argument(old, "Replace"), csharp_text(new))


def _split(receiver: Any, *separators: Any) -> list[str]:
    text = _string(receiver, "Split")
    names = [item for separator in separators for item in (separator if isinstance(separator, list) else [separator])
             if isinstance(item, str) and item]
    if not names:
        return text.split()
    parts = [text]
    for separator in names:
        parts = [piece for part in parts for piece in part.split(separator)]
    return parts


def _index_of(last: bool) -> Callable[..., int]:
    def find(receiver: Any, value: Any) -> int:
        text = _string(receiver, "IndexOf")
        needle = _text_argument(value, "IndexOf")
        return text.rfind(needle) if last else text.find(needle)

    return find


def _pad(left: bool) -> Callable[..., str]:
    def pad(receiver: Any, width: Any, character: Any = " ") -> str:
        text = _string(receiver, "PadLeft" if left else "PadRight")
        return text.rjust(int(width), str(character)) if left else text.ljust(int(width), str(character))

    return pad


def _to_string(receiver: Any, _format: Any = None) -> str | None:
    return None if receiver is None else csharp_text(receiver)


def _equals(receiver: Any, other: Any) -> bool:
    return equals(receiver, other)


def _case(upper: bool) -> Callable[[Any], str]:
    def change(receiver: Any) -> str:
        text = _string(receiver, "ToUpper" if upper else "ToLower")
        return text.upper() if upper else text.lower()

    return change


def _to_char_array(receiver: Any) -> list[str]:
    return list(_string(receiver, "ToCharArray"))


def _get_value_or_default(receiver: Any, default: Any = None) -> Any:
    return default if receiver is None else receiver


INSTANCE_METHODS: dict[str, Signature] = {
    "Select": Signature(_select, 1, 1),
    "SelectMany": Signature(_select_many, 1, 2),
    "Where": Signature(_where, 1, 1),
    "Sum": Signature(_sum, 0, 1),
    "Count": Signature(_count, 0, 1),
    "LongCount": Signature(_count, 0, 1),
    "Any": Signature(_any, 0, 1),
    "All": Signature(_all, 1, 1),
    "First": Signature(_first(False, False), 0, 1),
    "FirstOrDefault": Signature(_first(True, False), 0, 1),
    "Last": Signature(_first(False, True), 0, 1),
    "LastOrDefault": Signature(_first(True, True), 0, 1),
    "Max": Signature(_extreme(True), 0, 1),
    "Min": Signature(_extreme(False), 0, 1),
    "Average": Signature(_average, 0, 1),
    "Distinct": Signature(_distinct, 0, 0),
    "ToList": Signature(_to_list, 0, 0),
    "ToArray": Signature(_to_list, 0, 0),
    "OrderBy": Signature(_order_by(False), 0, 1),
    "OrderByDescending": Signature(_order_by(True), 0, 1),
    "Take": Signature(_take, 1, 1),
    "Skip": Signature(_skip, 1, 1),
    "Contains": Signature(_contains, 1, 1),
    "Concat": Signature(_concat, 1, 1),
    "Union": Signature(_union, 1, 1),
    "Reverse": Signature(_reverse, 0, 0),
    "DefaultIfEmpty": Signature(_default_if_empty, 0, 1),
    "GroupBy": Signature(_group_by, 1, 2),
    "ToLower": Signature(_case(False), 0, 0),
    "ToLowerInvariant": Signature(_case(False), 0, 0),
    "ToUpper": Signature(_case(True), 0, 0),
    "ToUpperInvariant": Signature(_case(True), 0, 0),
    "Trim": Signature(_trim("both"), 0, 8),
    "TrimStart": Signature(_trim("start"), 0, 8),
    "TrimEnd": Signature(_trim("end"), 0, 8),
    "Substring": Signature(_substring, 1, 2),
    "StartsWith": Signature(_starts_with, 1, 1),
    "EndsWith": Signature(_ends_with, 1, 1),
    "Replace": Signature(_replace, 2, 2),
    "Split": Signature(_split, 0, 8),
    "IndexOf": Signature(_index_of(False), 1, 1),
    "LastIndexOf": Signature(_index_of(True), 1, 1),
    "PadLeft": Signature(_pad(True), 1, 2),
    "PadRight": Signature(_pad(False), 1, 2),
    "ToCharArray": Signature(_to_char_array, 0, 0),
    "ToString": Signature(_to_string, 0, 1),
    "Equals": Signature(_equals, 1, 1),
    "GetValueOrDefault": Signature(_get_value_or_default, 0, 1),
}
"""Instance methods by name."""

SEQUENCE_METHODS = frozenset({
    "Select", "SelectMany", "Where", "Sum", "Count", "LongCount", "Any", "All", "First", "FirstOrDefault", "Last",
    "LastOrDefault", "Max", "Min", "Average", "Distinct", "ToList", "ToArray", "OrderBy", "OrderByDescending", "Take",
    "Skip", "Contains", "Concat", "Union", "Reverse", "DefaultIfEmpty", "GroupBy"})
"""Methods that see null as an empty sequence rather than returning null."""


# ---- statics ------------------------------------------------------------------------------------


def _math(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*arguments: Any) -> Any:
        if any(argument is None for argument in arguments):
            return None
        if not all(isinstance(argument, int | float) and not isinstance(argument, bool) for argument in arguments):
            raise LinqRuntimeError("Math functions need numbers")
        return function(*arguments)

    return call


def _round(value: float, digits: int = 0) -> float:
    return round(value, int(digits)) if isinstance(value, float) else value  # C# rounds half to even too


def _join(separator: Any, *values: Any) -> str:
    items = iterate(values[0]) if len(values) == 1 and isinstance(values[0], list) else list(values)
    return csharp_text(separator).join(csharp_text(item) for item in items)


def _concat_strings(*values: Any) -> str:
    items = iterate(values[0]) if len(values) == 1 and isinstance(values[0], list) else list(values)
    return "".join(csharp_text(item) for item in items)


def _format(template: Any, *values: Any) -> str:
    text = _text_argument(template, "Format")
    for position, value in enumerate(values):
        text = text.replace("{" + str(position) + "}", csharp_text(value))
    return text


def _is_null_or_empty(value: Any) -> bool:
    return value is None or value == ""


def _is_null_or_white_space(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_date(value: Any) -> datetime:
    date = parse_date(value) if isinstance(value, str) else None
    if date is None:
        raise LinqRuntimeError(f"String {value!r} was not recognized as a valid DateTime")
    return date


def _convert(type_name: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, str) and type_name in ("int", "long", "double"):
            try:
                return int(value) if type_name != "double" else float(value)
            except ValueError as error:
                raise LinqRuntimeError(f"Input string {value!r} was not in a correct format") from error
        if type_name == "int" and isinstance(value, float):
            return round(value)
        if type_name == "string":
            return csharp_text(value)
        if type_name == "bool":
            if isinstance(value, str):
                return value.strip().lower() == "true"
            return bool(value)
        return cast(type_name, False, value)

    return convert


STATIC_METHODS: dict[tuple[str, str], Signature] = {
    ("Math", "Max"): Signature(_math(max), 2, 2),
    ("Math", "Min"): Signature(_math(min), 2, 2),
    ("Math", "Abs"): Signature(_math(abs), 1, 1),
    ("Math", "Round"): Signature(_math(_round), 1, 2),
    ("Math", "Floor"): Signature(_math(lambda value: float(math.floor(value))), 1, 1),
    ("Math", "Ceiling"): Signature(_math(lambda value: float(math.ceil(value))), 1, 1),
    ("Math", "Sqrt"): Signature(_math(lambda value: math.sqrt(value) if value >= 0 else math.nan), 1, 1),
    ("Math", "Pow"): Signature(_math(lambda base, power: float(base) ** float(power)), 2, 2),
    ("string", "Join"): Signature(_join, 2, 64),
    ("string", "Concat"): Signature(_concat_strings, 1, 64),
    ("string", "Format"): Signature(_format, 1, 64),
    ("string", "IsNullOrEmpty"): Signature(_is_null_or_empty, 1, 1),
    ("string", "IsNullOrWhiteSpace"): Signature(_is_null_or_white_space, 1, 1),
    ("DateTime", "Parse"): Signature(_parse_date, 1, 1),
    ("Convert", "ToInt32"): Signature(_convert("int"), 1, 1),
    ("Convert", "ToInt64"): Signature(_convert("long"), 1, 1),
    ("Convert", "ToDouble"): Signature(_convert("double"), 1, 1),
    ("Convert", "ToDecimal"): Signature(_convert("double"), 1, 1),
    ("Convert", "ToString"): Signature(_convert("string"), 1, 1),
    ("Convert", "ToBoolean"): Signature(_convert("bool"), 1, 1),
}
"""Static methods by (class, name); ``String`` is ``string``."""

STATIC_MEMBERS: dict[tuple[str, str], Any] = {
    ("string", "Empty"): "",
    ("FieldIndexing", "No"): "No",
    ("FieldIndexing", "Search"): "Search",
    ("FieldIndexing", "Exact"): "Exact",
    ("FieldIndexing", "Default"): "Default",
    ("FieldStorage", "Yes"): "Yes",
    ("FieldStorage", "No"): "No",
    ("FieldTermVector", "No"): "No",
    ("FieldTermVector", "Yes"): "Yes",
    ("FieldTermVector", "WithPositions"): "WithPositions",
    ("FieldTermVector", "WithOffsets"): "WithOffsets",
    ("FieldTermVector", "WithPositionsAndOffsets"): "WithPositionsAndOffsets",
}
"""Static properties and enum values by (class, name)."""
