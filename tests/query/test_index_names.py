"""The fields of a query's auto-index, and the index names RavenDB reports."""

from __future__ import annotations

from rookdb.query.index_names import auto_index_fields, fields_follow_parameters, index_name
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


def test_vector_fields_are_known_once_unless_a_parameter_names_the_task() -> None:
    plain = parse_query("from Items where vector.search(embedding.text(Name), $v)")
    assert not fields_follow_parameters(plain)
    assert auto_index_fields(plain, {"v": "a"}) == auto_index_fields(plain, {"v": "b"}) == (
        [], ["Vector.search(embedding.text(Name))"])
    by_task = parse_query("from Items where vector.search(embedding.text(Name, ai.task($t)), $v)")
    assert fields_follow_parameters(by_task)
    for task in ("one", "two"):
        wanted = f"Auto/Items/ByVector.search(embedding.text(Name|ai.task('{task}')))"
        assert index_name(by_task, {"t": task, "v": "a"}) == wanted
