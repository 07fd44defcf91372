"""Collation: equality keys, ranges and sort keys."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.query.ordering import equality_keys, query_keys, range_operand, sort_in_place, sort_key, text_of


def _equal(document_value: Any, query_value: Any, exact: bool = False) -> bool:
    return bool(set(equality_keys(document_value, exact)) & query_keys(query_value, exact))


@pytest.mark.parametrize(
    ("document_value", "query_value", "equal"),
    [
        ("Chang", "chang", True),
        ("Chang", "Chang", True),
        ("Chang", "Chan", False),
        (12, 12.0, True),
        (12, "12", True),  # the index keeps numbers as text too
        ("12", 12, False),  # a numeric query looks at numbers only
        (True, "true", True),
        (True, True, True),
        (True, 1, False),
        ("true", True, False),
        (None, None, True),
        (0, None, False),
        ({"a": 1}, {"a": 1}, False),
    ],
)
def test_equality(document_value: Any, query_value: Any, equal: bool) -> None:
    assert _equal(document_value, query_value) is equal


def test_exact_equality_keeps_case() -> None:
    assert _equal("Chang", "Chang", exact=True)
    assert not _equal("Chang", "chang", exact=True)


def test_range_operands() -> None:
    assert range_operand(3) == ("num", 3.0)
    assert range_operand("ABC") == ("str", "abc")
    assert range_operand("ABC", exact=True) == ("str", "ABC")
    assert range_operand(True) is None
    assert range_operand(None) is None


def test_text_of() -> None:
    values: tuple[object, ...] = ("x", True, False, 3, 2.5, None, [1], {})
    assert [text_of(v) for v in values] == [
        "x", "true", "false", "3", "2.5", None, None, None,
    ]


@pytest.mark.parametrize(
    ("ordering", "values", "expected"),
    [
        (None, ["B", "a", "C"], ["a", "B", "C"]),
        (None, [10, 9, 100], [10, 100, 9]),
        ("double", [10, 9.5, "100", "x"], ["x", 9.5, 10, "100"]),
        ("long", [2.9, 2.1, 1], [1, 2.9, 2.1]),
        ("alphaNumeric", ["a10", "a9", "A1"], ["A1", "a9", "a10"]),
    ],
)
def test_sort_keys(ordering: str | None, values: list[Any], expected: list[Any]) -> None:
    assert sorted(values, key=lambda v: sort_key([v], ordering)) == expected


def test_missing_sorts_first_unless_told_otherwise() -> None:
    assert sort_key([], None) < sort_key(["a"], None)
    assert sort_key([None], "double", missing_rank=2) > sort_key([1], "double")


def test_sort_in_place_applies_keys_by_significance_and_keeps_ties() -> None:
    rows = [("b", 1), ("a", 2), ("b", 2), ("a", 1), ("c", 1)]
    sort_in_place(rows, [(lambda r: r[1], True), (lambda r: r[0], False)])
    assert rows == [("a", 2), ("b", 2), ("a", 1), ("b", 1), ("c", 1)]
