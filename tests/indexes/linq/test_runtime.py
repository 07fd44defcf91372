"""C#'s dynamic semantics as LINQ maps see them: access into null, arithmetic, comparison, casts, dates."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rookdb.indexes.linq.runtime import (
    Grouping,
    KeyValue,
    LinqRuntimeError,
    add,
    arithmetic,
    cast,
    compare,
    csharp_text,
    element,
    equals,
    format_timespan,
    index_value,
    iterate,
    member,
    parse_date,
    truthy,
)

DOCUMENT = {"Name": "Chai", "Tags": ["a", "b"], "@metadata": {"@id": "products/1"}}


@pytest.mark.parametrize(("value", "name", "expected"), [
    (DOCUMENT, "Name", "Chai"),
    (DOCUMENT, "Missing", None),
    (DOCUMENT, "Id", "products/1"),
    ({"Id": "own"}, "Id", "own"),
    (None, "Anything", None),
    (["a", "b"], "Length", 2),
    ("abc", "Length", 3),
    ("2024-02-03T04:05:06.0000000Z", "Month", 2),
    ("not a date", "Month", None),
    (Grouping("k", [1, 2]), "Key", "k"),
    (KeyValue("k", 5), "Value", 5),
    (timedelta(hours=36), "TotalHours", 36.0),
    (timedelta(hours=36), "Days", 1),
    (5, "HasValue", True),
])
def test_member(value: Any, name: str, expected: Any) -> None:
    assert member(value, name) == expected


def test_element_and_iteration() -> None:
    assert element(DOCUMENT, "Name") == "Chai" and element(["x", "y"], -1) == "y" and element(["x"], 3) is None
    assert iterate(None) == [] and [pair.key for pair in iterate({"A": 1, "@metadata": {}})] == ["A"]
    with pytest.raises(LinqRuntimeError):
        iterate(5)


@pytest.mark.parametrize(("op", "left", "right", "expected"), [
    ("/", 7, 2, 3), ("/", -7, 2, -3), ("%", -7, 3, -1), ("/", 7.0, 2, 3.5), ("*", 3, 4, 12), ("-", None, 1, None),
    ("/", 1.0, 0, math.inf), ("+", 2, 3, 5),
])
def test_arithmetic_is_csharps(op: str, left: Any, right: Any, expected: Any) -> None:
    assert arithmetic(op, left, right) == expected


def test_integer_division_by_zero_fails_and_strings_concatenate() -> None:
    with pytest.raises(LinqRuntimeError):
        arithmetic("/", 1, 0)
    with pytest.raises(LinqRuntimeError, match=r"'/' cannot be applied to operands of type 'System\.Int64' and"):
        arithmetic("/", 5, None)  # C# finds no operator for a number and RavenDB's null object
    assert arithmetic("-", None, None) is None
    assert add("a", 1) == "a1" and add(None, "b") == "b"
    assert csharp_text(True) == "True" and csharp_text(2.0) == "2" and csharp_text(None) == ""


def test_equality_and_ordering() -> None:
    assert equals(1, 1.0) and not equals(1, True) and equals(None, None) and not equals(None, 0)
    assert compare("<", 1, 2.5) and not compare("<", None, 1) and compare(">", "b", "a")
    assert compare(">", "2024-01-02T00:00:00", datetime(2024, 1, 1))
    with pytest.raises(LinqRuntimeError):
        compare("<", 1, "a")
    assert truthy(None) is False
    with pytest.raises(LinqRuntimeError):
        truthy(1)


@pytest.mark.parametrize(("target", "value", "expected"), [
    ("int", 3.9, 3), ("int", -3.9, -3), ("double", 2, 2.0), ("object", "x", "x"), ("string", None, None),
    ("DateTime", "2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
])
def test_casts(target: str, value: Any, expected: Any) -> None:
    assert cast(target, False, value) == expected


def test_casts_that_cannot_convert_fail() -> None:
    with pytest.raises(LinqRuntimeError):
        cast("int", False, "12")


def test_dates_and_time_spans_are_written_as_ravendb_writes_them() -> None:
    date = parse_date("2024-01-02T03:04:05.1234567Z")
    assert date is not None and date.microsecond == 123456
    assert index_value({"At": date, "Took": timedelta(days=2, hours=1, seconds=1.5)}) == {
        "At": "2024-01-02T03:04:05.1234560Z", "Took": "2.01:00:01.5000000"}
    assert format_timespan(timedelta(minutes=-90)) == "-01:30:00"
    assert index_value(Grouping("k", [1, KeyValue("a", 2)])) == [1, {"Key": "a", "Value": 2}]
