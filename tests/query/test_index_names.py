"""The fields of a query's auto-index, and the index names RavenDB reports."""

from __future__ import annotations

from rookdb.query.index_names import auto_index_fields, index_name
from rookdb.query.parser import parse_query


def test_a_query_asked_again_needs_the_same_fields() -> None:
    query = parse_query("from Products where Name = $n and search(Desc, $t) order by Price")
    first = auto_index_fields(query, {"n": "a", "t": "b"})
    again = auto_index_fields(query, {"n": "c", "t": "d"})
    assert again == first and [field.name for field in first[0]] == ["Name", "Desc", "Price"]
    again[0].clear()  # the caller's own lists
    assert auto_index_fields(query, {})[0] == first[0]


def test_fields_named_by_parameters_follow_them() -> None:
    query = parse_query("from Products where lucene(Name, $q)")
    assert index_name(query, {"q": "Cat:c1"}) == "Auto/Products/ByCat"
    assert index_name(query, {"q": "Desc:tea"}) == "Auto/Products/ByDesc"
