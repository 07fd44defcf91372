"""Field paths against JSON documents."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.query.paths import project, values_at

ORDER: dict[str, Any] = {
    "Company": "companies/1-A",
    "Freight": None,
    "ShipTo": {"City": "Reims", "Location": None},
    "Lines": [
        {"Product": "products/1-A", "Tags": ["a", "b"], "Qty": 1},
        {"Product": "products/2-A", "Tags": [], "Qty": 2},
        {"Product": "products/3-A"},
    ],
    "Matrix": [[1, 2], [3]],
}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("Company",), ["companies/1-A"]),
        (("Freight",), [None]),
        (("Missing",), []),
        (("ShipTo", "City"), ["Reims"]),
        (("ShipTo", "Location", "Latitude"), []),
        (("Company", "Deeper"), []),
        (("Lines", "Product"), ["products/1-A", "products/2-A", "products/3-A"]),
        (("Lines", "Qty"), [1, 2]),
        (("Lines", "Tags"), ["a", "b"]),
        (("Matrix",), [1, 2, 3]),
    ],
)
def test_values_at_walks_objects_and_flattens_arrays(names: tuple[str, ...], expected: list[Any]) -> None:
    assert values_at(ORDER, names) == expected


def test_values_at_without_flattening_keeps_arrays_whole() -> None:
    assert values_at(ORDER, ("Lines", "Tags"), flatten=False) == [["a", "b"], []]
    assert values_at(ORDER, ("Missing",), flatten=False) == []


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("Company",), "companies/1-A"),
        (("ShipTo", "City"), "Reims"),
        (("ShipTo", "Location", "Latitude"), None),
        (("Missing",), None),
        (("Lines", "Product"), ["products/1-A", "products/2-A", "products/3-A"]),
        (("Lines", "Tags"), [["a", "b"], []]),
        (("Lines",), ORDER["Lines"]),
    ],
)
def test_project(names: tuple[str, ...], expected: Any) -> None:
    assert project(ORDER, names) == expected
