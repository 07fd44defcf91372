"""Typed index values: paths, leaves, text, equality keys and numeric forms."""

from __future__ import annotations

import math
from typing import Any

import pytest

from rookdb.indexes.values import equality_keys, leaves, number_of, string_number, text_of, values_at

ORDER = {"Lines": [{"Name": "a", "Tags": ["x", ["y", "z"]]}, {"Name": None}, {"Other": 1}], "Ship": {"City": "Reims"}}


@pytest.mark.parametrize(
    ("path", "flat", "reached"),
    [
        (("Ship", "City"), ["Reims"], ["Reims"]),
        (("Lines", "Name"), ["a", None], ["a", None]),
        (("Lines", "Tags"), ["x", "y", "z"], [["x", ["y", "z"]]]),
        (("Nope",), [], []),
        (("Ship", "City", "Deeper"), [], []),
    ],
)
def test_values_at(path: tuple[str, ...], flat: list[Any], reached: list[Any]) -> None:
    assert values_at(ORDER, path) == flat
    assert values_at(ORDER, path, flatten=False) == reached


def test_leaves_walks_any_depth_without_recursion() -> None:
    deep: Any = "bottom"
    for _ in range(5000):
        deep = [deep, 1]
    assert leaves([deep])[0] == "bottom" and len(leaves([deep])) == 5001


@pytest.mark.parametrize(("value", "text"), [("Chai", "Chai"), (True, "true"), (18.0, "18.0"), (18, "18"),
                                             (None, None), ({"a": 1}, None), ([1], None)])
def test_text_of(value: Any, text: str | None) -> None:
    assert text_of(value) == text


@pytest.mark.parametrize(("value", "keys"), [
    ("Chang", (("str", "chang"),)), (12, (("num", 12.0),)), (True, (("bool", True),)), (None, (("null",),)),
    ({"x": 1}, ()),
])
def test_equality_keys(value: Any, keys: tuple[Any, ...]) -> None:
    assert equality_keys(value) == keys


def _reference(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@pytest.mark.parametrize("text", ["12", " 12 ", "-1.5e3", ".5", "+7", "1_000", "inf", "nan", "Infinity", "١٢",
                                  "\u00a05", "²", "5467", "abc", "", "12abc", "0x10", "e5", "NaNa"])
def test_string_numbers_read_as_float_does(text: str) -> None:
    assert string_number(text) == _reference(text)
    assert number_of(text) == _reference(text)


def test_numbers_are_their_own_numeric_form() -> None:
    assert number_of(5) == 5.0 and number_of(2.5) == 2.5 and number_of(True) is None and number_of(None) is None
