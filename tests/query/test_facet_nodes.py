"""The facet syntax: ``select facet(...)`` parsed, rendered canonically, and refused when it mixes kinds."""

from __future__ import annotations

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.query import ast
from rookdb.query.parser import parse_query

CANONICAL = [
    ("from Orders select facet(Company)", "from Orders select facet(Company)"),
    ("FROM Orders SELECT FACET(Company) AS c", "from Orders select facet(Company) as c"),
    ("from index 'Orders/All' select facet(product, SUM(total), avg(total) as T1, $p0), facet(region)",
     "from index 'Orders/All' select facet(product, sum(total), avg(total) as T1, $p0), facet(region)"),
    ("from Orders select facet(total < $p0, total >= $p1 and total < $p2, total between 1 and 5) as 'Totals'",
     "from Orders select facet(total < $p0, total >= $p1 and total < $p2, total between 1 and 5) as Totals"),
    ("from Orders select facet(id('facets/Setup'))", "from Orders select facet(id('facets/Setup'))"),
    ("from Orders select facet(sum(Freight), min(Freight))", "from Orders select facet(sum(Freight), min(Freight))"),
    ("from Orders where Freight > 10 select facet('select') include Company",
     "from Orders where Freight > 10 select facet('select') include Company"),
    ("from Orders select facet()", "from Orders select facet()"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_facets_render_canonically_and_round_trip(text: str, canonical: str) -> None:
    parsed = parse_query(text)
    assert parsed.to_rql() == canonical
    assert parse_query(canonical) == parsed


def test_a_facet_holds_its_parts() -> None:
    facet = parse_query("from O select facet(P < 10, P between $a and 20, max(Q) as M, $o) as F").facets[0]
    assert facet.field is None and facet.alias == "F" and facet.options == ast.Parameter("o")
    assert facet.aggregations == (ast.FacetAggregation("max", ast.FieldPath((ast.PathSegment("Q"),)), "M"),)
    assert [type(item) for item in facet.ranges] == [ast.Comparison, ast.Between]
    assert facet.to_json()["type"] == "Facet"


def test_a_field_named_like_an_aggregation_is_still_a_field() -> None:
    facet = parse_query("from O select facet(summary, sum(maxValue))").facets[0]
    assert facet.field == ast.FieldPath((ast.PathSegment("summary"),))
    assert facet.aggregations[0].field == ast.FieldPath((ast.PathSegment("maxValue"),))


@pytest.mark.parametrize(("text", "message"), [
    ("from O select facet(A, B)", "one field"),
    ("from O select facet(A, P < 10)", "one field"),
    ("from O select facet(A, $a, $b)", "one options parameter"),
    ("from O select facet(id('facets/x'), sum(A))", "setup document"),
    ("from O select facet(id('facets/x')) as x", "setup document"),
])
def test_facets_that_mix_kinds_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        parse_query(text)
