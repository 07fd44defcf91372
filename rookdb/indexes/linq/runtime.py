"""The values a LINQ map works on, with the dynamic semantics RavenDB's C# indexes give them.

RavenDB runs maps over ``dynamic`` documents; rookdb keeps their rules:

* reaching into null is null (RavenDB's ``DynamicNullObject``): ``doc.Address.City`` on a document
  without ``Address`` is null, a method called on null is null, and null enumerates as empty;
* ``doc.Id`` is the document id when the document has no ``Id`` property;
* a string that spells a date behaves as a date where a date is asked for (``o.OrderedAt.Year``,
  ``shipped - ordered``), as RavenDB converts date strings on access;
* integers divide as C# ``long`` (truncated), other numbers as ``double``; ``+`` with a string
  concatenates; arithmetic with null is null (but a number on the left of null fails, as C# binds it);
  comparisons with null are false except ``== null``.

Values are plain JSON values (dict, list, str, int, float, bool, None) plus ``datetime``,
``timedelta``, ``Grouping`` and ``KeyValue``. ``index_value`` turns a result into what the index
stores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rookdb.indexes.values import TimeSpanText

__all__ = [
    "ClrType",
    "Grouping",
    "KeyValue",
    "LinqRuntimeError",
    "add",
    "arithmetic",
    "cast",
    "compare",
    "csharp_text",
    "element",
    "equals",
    "format_date",
    "format_timespan",
    "index_value",
    "iterate",
    "member",
    "parse_date",
    "truthy",
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?(?:Z|[+-]\d{2}:\d{2})?$")
_TICKS_PER_SECOND = 10_000_000
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class LinqRuntimeError(Exception):
    """A map or reduce failed on one document (recorded as that document's indexing error)."""


class Grouping:
    """One group of ``group ... by ... into g`` / ``GroupBy``: ``g.Key`` and its elements."""

    __slots__ = ("items", "key")

    def __init__(self, key: Any, items: list[Any]) -> None:
        self.key = key
        self.items = items


class KeyValue:
    """A property of an object enumerated as a sequence (``doc.Attributes.Select(a => a.Key)``)."""

    __slots__ = ("key", "value")

    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = value


class ClrType:
    """``typeof(T)``: a .NET type known by the name the map wrote, which is all rookdb can know of it."""

    __slots__ = ("full_name",)

    def __init__(self, full_name: str) -> None:
        self.full_name = full_name

    def member(self, name: str) -> Any:
        namespace, _, short = self.full_name.rpartition(".")
        found = {"Name": short, "FullName": self.full_name, "Namespace": namespace or None}
        return found.get(name)


# ---- access -------------------------------------------------------------------------------------


def member(value: Any, name: str) -> Any:
    """``value.name`` with RavenDB's dynamic rules."""
    if type(value) is dict:
        found = value.get(name, _MISSING)
        if found is not _MISSING:
            return found
        if name == "Id":
            metadata = value.get("@metadata")
            return metadata.get("@id") if isinstance(metadata, dict) else None
        if name == "Count" and "@metadata" not in value:
            return len(value)
        return None
    if value is None:
        return None
    if isinstance(value, list):
        if name in ("Length", "Count"):
            return len(value)
        return None
    if isinstance(value, str):
        if name == "Length":
            return len(value)
        date = parse_date(value)
        return _date_member(date, name) if date is not None else None
    if isinstance(value, Grouping):
        if name == "Key":
            return value.key
        if name == "Count":
            return len(value.items)
        return None
    if isinstance(value, KeyValue):
        return value.key if name == "Key" else value.value if name == "Value" else None
    if isinstance(value, ClrType):
        return value.member(name)
    if isinstance(value, datetime):
        return _date_member(value, name)
    if isinstance(value, timedelta):
        return _timespan_member(value, name)
    if name == "HasValue":
        return True
    if name == "Value":
        return value
    return None


_MISSING = object()


def element(value: Any, index: Any) -> Any:
    """``value[index]``: a property by name, an array or string item by position; null when absent."""
    if isinstance(value, dict):
        return value.get(index) if isinstance(index, str) else None
    if isinstance(value, list | str) and isinstance(index, int) and not isinstance(index, bool):
        return value[index] if -len(value) <= index < len(value) else None
    if isinstance(value, Grouping):
        return element(value.items, index)
    return None


def iterate(value: Any) -> list[Any]:
    """The items of a sequence; null is empty, an object is its properties (``KeyValue``)."""
    if isinstance(value, list):
        return value
    if value is None:
        return []
    if isinstance(value, Grouping):
        return value.items
    if isinstance(value, dict):
        return [KeyValue(key, item) for key, item in value.items() if key != "@metadata"]
    if isinstance(value, str):
        return list(value)
    raise LinqRuntimeError(f"Cannot enumerate a {_type_name(value)}")


# ---- operators ----------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """A condition's value: C# needs a bool; null (a missing property) is false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise LinqRuntimeError(f"A condition must be true or false, not a {_type_name(value)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def add(left: Any, right: Any) -> Any:
    if isinstance(left, str) or isinstance(right, str):
        return csharp_text(left) + csharp_text(right)
    return arithmetic("+", left, right)


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``- * / %`` (and ``+`` on non-strings): null when either side is null, except a number on the
    left of a null, which C# binds by the operands' runtime types and finds no operator for (a number
    and RavenDB's null object): ``5 / doc.Missing`` fails where ``doc.Missing / 5`` is null."""
    if left is None or right is None:
        if right is None and _is_number(left):
            clr = "System.Int64" if type(left) is int else "System.Double"
            raise LinqRuntimeError(f"Operator '{op}' cannot be applied to operands of type '{clr}' and "
                                   "'Raven.Server.Documents.Indexes.Static.DynamicNullObject'")
        return None
    if _is_number(left) and _is_number(right):
        if type(left) is int and type(right) is int:
            if op in ("/", "%") and right == 0:
                raise LinqRuntimeError("Attempted to divide by zero")
            if op == "/":
                quotient = abs(left) // abs(right)
                return quotient if (left >= 0) == (right >= 0) else -quotient
            if op == "%":
                return int(math.fmod(left, right))
            return left + right if op == "+" else left - right if op == "-" else left * right
        return _float_arithmetic(op, float(left), float(right))
    dates = _date_arithmetic(op, left, right)
    if dates is not None:
        return dates
    raise LinqRuntimeError(f"Operator '{op}' cannot be applied to a {_type_name(left)} and a {_type_name(right)}")


def _float_arithmetic(op: str, left: float, right: float) -> float:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:  # C# doubles divide by zero into infinity or NaN
        if op == "%" or left == 0:
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right if op == "/" else math.fmod(left, right)


def _date_arithmetic(op: str, left: Any, right: Any) -> Any:
    first, second = _as_temporal(left), _as_temporal(right)
    if first is None or second is None:
        return None
    if op == "-":
        if isinstance(first, datetime) and isinstance(second, datetime):
            return first - second
        if isinstance(second, timedelta):
            return first - second
    if op == "+":
        if isinstance(first, datetime) and isinstance(second, timedelta):
            return first + second
        if isinstance(first, timedelta):
            return first + second
    return None


def _as_temporal(value: Any) -> datetime | timedelta | None:
    if isinstance(value, datetime | timedelta):
        return value
    if isinstance(value, str):
        return parse_date(value)
    return None


def equals(left: Any, right: Any) -> bool:
    """C# ``==`` on dynamic values: numbers by value, strings ordinally, null equals only null."""
    if left is None or right is None:
        return left is None and right is None
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, datetime | timedelta) or isinstance(right, datetime | timedelta):
        first, second = _as_temporal(left), _as_temporal(right)
        return first is not None and type(first) is type(second) and first == second
    return bool(left == right)


def compare(op: str, left: Any, right: Any) -> bool:
    """``< <= > >=``: false when either side is null or the two cannot be ordered."""
    if left is None or right is None:
        return False
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        pass
    else:
        first, second = _as_temporal(left), _as_temporal(right)
        if first is None or type(first) is not type(second):
            raise LinqRuntimeError(
                f"Operator '{op}' cannot be applied to a {_type_name(left)} and a {_type_name(right)}")
        left, right = first, second
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def cast(type_name: str, nullable: bool, value: Any) -> Any:
    """``(int)x``, ``(double?)x``, ``(string)x``...: numbers convert, null stays null."""
    if value is None or type_name in ("object", "dynamic"):
        return value
    if type_name in ("int", "long", "short", "byte", "sbyte", "uint", "ulong", "ushort"):
        if _is_number(value):
            if isinstance(value, float) and not math.isfinite(value):
                raise LinqRuntimeError(f"Cannot convert {value} to {type_name}")
            return int(value)
        raise LinqRuntimeError(f"Cannot convert a {_type_name(value)} to {type_name}")
    if type_name in ("double", "float", "decimal"):
        if _is_number(value):
            return float(value)
        raise LinqRuntimeError(f"Cannot convert a {_type_name(value)} to {type_name}")
    if type_name in ("string", "char"):
        if isinstance(value, str):
            return value
        raise LinqRuntimeError(f"Cannot convert a {_type_name(value)} to {type_name}")
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        raise LinqRuntimeError(f"Cannot convert a {_type_name(value)} to bool")
    if type_name in ("DateTime", "DateTimeOffset"):
        date = _as_temporal(value)
        if isinstance(date, datetime):
            return date
        raise LinqRuntimeError(f"Cannot convert {value!r} to {type_name}")
    if type_name == "TimeSpan":
        if isinstance(value, timedelta):
            return value
        raise LinqRuntimeError(f"Cannot convert {value!r} to TimeSpan")
    return value  # Guid: kept as its string


# ---- text ---------------------------------------------------------------------------------------


def csharp_text(value: Any) -> str:
    """``ToString()`` as C# spells it (``True``, ``5``, ``1.5``); null is the empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return format_date(value)
    if isinstance(value, timedelta):
        return format_timespan(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return str(index_value(value))


def parse_date(text: str) -> datetime | None:
    """The date an ISO 8601 string spells (``2024-01-02T03:04:05.1234567Z``), or None."""
    if len(text) < 10 or not _DATE.match(text):
        return None
    core = text.replace(" ", "T")
    if core.endswith("Z"):
        core = core[:-1] + "+00:00"
    if "." in core:
        head, _, rest = core.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits):]
        core = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        return datetime.fromisoformat(core)
    except ValueError:
        return None


def format_date(value: datetime) -> str:
    """RavenDB's date format: seven fractional digits, ``Z`` for UTC, the offset otherwise."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0"
    offset = value.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return text + "Z"
    sign = "+" if minutes > 0 else "-"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_timespan(value: timedelta) -> str:
    """C#'s ``TimeSpan.ToString()``: ``[-][d.]hh:mm:ss[.fffffff]``."""
    ticks = _ticks(value)
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, fraction = divmod(ticks, _TICKS_PER_SECOND)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{fraction:07d}" if fraction else "")


def _ticks(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * _TICKS_PER_SECOND + value.microseconds * 10


def _date_member(value: datetime, name: str) -> Any:
    if name == "Year":
        return value.year
    if name == "Month":
        return value.month
    if name == "Day":
        return value.day
    if name == "Hour":
        return value.hour
    if name == "Minute":
        return value.minute
    if name == "Second":
        return value.second
    if name == "Millisecond":
        return value.microsecond // 1000
    if name == "DayOfWeek":
        return _DAY_NAMES[value.weekday()]
    if name == "DayOfYear":
        return value.timetuple().tm_yday
    if name == "Date":
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "Ticks":
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        delta = naive - datetime(1, 1, 1)
        return (delta.days * 86_400 + delta.seconds) * _TICKS_PER_SECOND + delta.microseconds * 10
    return None


def _timespan_member(value: timedelta, name: str) -> Any:
    total = value.total_seconds()
    members: dict[str, Callable[[], Any]] = {
        "Days": lambda: int(total / 86_400),
        "Hours": lambda: int(total / 3_600) % 24 if total >= 0 else -(int(-total / 3_600) % 24),
        "Minutes": lambda: int(total / 60) % 60 if total >= 0 else -(int(-total / 60) % 60),
        "Seconds": lambda: int(total) % 60 if total >= 0 else -(int(-total) % 60),
        "TotalDays": lambda: total / 86_400,
        "TotalHours": lambda: total / 3_600,
        "TotalMinutes": lambda: total / 60,
        "TotalSeconds": lambda: total,
        "TotalMilliseconds": lambda: total * 1000,
        "Ticks": lambda: round(total * _TICKS_PER_SECOND),
    }
    found = members.get(name)
    return found() if found is not None else None


# ---- results ------------------------------------------------------------------------------------


def index_value(value: Any) -> Any:
    """What the index keeps of a value: JSON, with dates and time spans as RavenDB writes them."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return {key: index_value(item) for key, item in value.items()}
    if kind is list:
        return [index_value(item) for item in value]
    if isinstance(value, datetime):
        return format_date(value)
    if isinstance(value, timedelta):
        return TimeSpanText(format_timespan(value), _ticks(value))
    if isinstance(value, Grouping):
        return [index_value(item) for item in value.items]
    if isinstance(value, KeyValue):
        return {"Key": value.key, "Value": index_value(value.value)}
    if isinstance(value, ClrType):
        return value.full_name  # what Type.ToString() gives
    return value  # created fields and vectors: the map representation reads them


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | Grouping):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, datetime):
        return "DateTime"
    if isinstance(value, timedelta):
        return "TimeSpan"
    return type(value).__name__
