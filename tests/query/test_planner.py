"""RQL clauses as index conditions and sort keys (their results are checked against scans in test_indexed)."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes import plan
from rookdb.query import parse_query
from rookdb.query.bindings import Bindings
from rookdb.query.planner import Planner

EVERY = frozenset({("null",)})


def planned(where: str, **parameters: Any) -> plan.Condition:
    text = f"from Orders as o where {where}"
    query = parse_query(text)
    assert query.where is not None
    return Planner(Bindings(parameters, "o", text)).condition(query.where)


@pytest.mark.parametrize(("where", "condition"), [
    ("o.Company = 'C/1'", plan.Equals("Company", frozenset({("str", "c/1")}))),
    ("Freight = '12'", plan.Equals("Freight", frozenset({("str", "12"), ("num", 12.0)}))),
    ("Freight != null", plan.Not(plan.Equals("Freight", EVERY))),
    ("Lines[].Product in ($p)", plan.Equals("Lines[].Product", frozenset({("str", "a"), ("str", "b")}))),
    ("Tags all in (1, 'x')", plan.AllOf("Tags", (frozenset({("num", 1.0)}), frozenset({("str", "x")})))),
    ("Freight >= 10", plan.Range("Freight", "num", 10.0, None)),
    ("exact(Name < 'Ab')", plan.Range("Name", "str", None, "Ab", high_inclusive=False, exact=True)),
    ("Freight between 1 and 'x'", plan.Nothing()),
    ("startsWith(Name, 12)", plan.Prefix("Name", "12")),
    ("endsWith(id(), $p)", plan.Nothing()),
    ("exists(ShipTo.City) and true", plan.And((plan.Present("ShipTo.City"), plan.Everything()))),
    ("search(Name, 'cook* gumbo', and)", plan.FullText("Name", (plan.SearchTerm(("cook",), False, True),
                                                                 plan.SearchTerm(("gumbo",))), True)),
    ("boost(regex('Odd Name', '^a'), 2) or not id() = 'x'", plan.Or((
        plan.Pattern("'Odd Name'", "^a"), plan.Not(plan.Equals(plan.ID_FIELD, frozenset({("str", "x")})))))),
])
def test_conditions(where: str, condition: plan.Condition) -> None:
    assert planned(where, p=["A", "b"]) == condition


@pytest.mark.parametrize(("order", "key"), [
    ("Freight", plan.SortKey("Freight", "text")),
    ("Freight as long desc", plan.SortKey("Freight", "number", True, missing_first=False)),
    ("Freight as double nulls last", plan.SortKey("Freight", "number", False, missing_first=False)),
    ("id() desc nulls first", plan.SortKey(plan.ID_FIELD, "text", True, missing_first=True)),
])
def test_sort_keys(order: str, key: plan.SortKey) -> None:
    text = f"from Orders order by {order}"
    query = parse_query(text)
    assert Planner(Bindings({}, None, text)).sort_key(query.order_by[0]) == key


@pytest.mark.parametrize(("where", "parameters", "message", "at"), [
    ("search(id(), 'x')", {}, "search\\(\\) works on document fields", "id()"),
    ("regex(Name, $p)", {"p": 5}, "regex\\(\\) needs a string", "$p"),
    ("regex(Name, $p)", {"p": "("}, "Invalid regex", "$p"),
    ("boost(Name = 1, $p)", {"p": "x"}, "boost factor must be a number", "$p"),
])
def test_bad_clauses_name_their_position(where: str, parameters: dict[str, Any], message: str, at: str) -> None:
    text = f"from Orders as o where {where}"
    with pytest.raises(InvalidQueryError, match=message) as raised:
        planned(where, **parameters)
    assert raised.value.position == text.index(at)
