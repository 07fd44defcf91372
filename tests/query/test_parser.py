"""Parser tables (input → canonical RQL, input → AST JSON), errors, and the client's own RQL."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import lark.exceptions
import pytest

from rookdb.errors import InvalidQueryError, RookError
from rookdb.query import ast
from rookdb.query.parse_errors import LARK_ERRORS
from rookdb.query.parser import _translate_lark_error, parse_query

CANONICAL = [
    # from
    ("from Products", "from Products"),
    ("from 'Products'", "from Products"),
    ('from "Order Lines"', "from 'Order Lines'"),
    ("from 'where'", "from 'where'"),
    ("from @all_docs", "from @all_docs"),
    ("from index 'Orders/Totals'", "from index 'Orders/Totals'"),
    ("from INDEX Orders", "from index 'Orders'"),
    ("from Orders as o where o.Company = 'companies/1-A'", "from Orders as o where o.Company = 'companies/1-A'"),
    # comparisons
    ("from P where A = 1", "from P where A = 1"),
    ("from P where A == 1", "from P where A = 1"),
    ("from P where A != 1", "from P where A != 1"),
    ("from P where A <> 1", "from P where A != 1"),
    ("from P where A<1 and B<=2 and C>3 and D>=4", "from P where A < 1 and B <= 2 and C > 3 and D >= 4"),
    ("from P where A in (1, 'b', $p, null)", "from P where A in (1, 'b', $p, null)"),
    ("from P where Tags ALL IN ('a','b')", "from P where Tags all in ('a', 'b')"),
    ("from P where A between 1 and 10", "from P where A between 1 and 10"),
    ("from P where A between $lo and $hi and B = 2", "from P where A between $lo and $hi and B = 2"),
    # methods
    ("from P where startsWith(Name, 'ch')", "from P where startsWith(Name, 'ch')"),
    ("from P where endswith(Name, $p0)", "from P where endsWith(Name, $p0)"),
    ("from P where exists(Address.City)", "from P where exists(Address.City)"),
    ("from P where search(Name, 'chef anton')", "from P where search(Name, 'chef anton')"),
    ("from P where search(Name, $p, or)", "from P where search(Name, $p)"),
    ("from P where search(Name, $p, AND)", "from P where search(Name, $p, and)"),
    ("from P where regex(Name, '^C')", "from P where regex(Name, '^C')"),
    ("from P where exact(Name = 'Chang')", "from P where exact(Name = 'Chang')"),
    ("from P where boost(search(Name, $p0), 2)", "from P where boost(search(Name, $p0), 2)"),
    ("from P where boost(Name = 'a' or Name = 'b', $p1)", "from P where boost(Name = 'a' or Name = 'b', $p1)"),
    ("from P where id() = 'products/1-A'", "from P where id() = 'products/1-A'"),
    ("from P as p where id(p) in ('a', 'b')", "from P as p where id(p) in ('a', 'b')"),
    ("from P where startsWith(id(), 'products/')", "from P where startsWith(id(), 'products/')"),
    # boolean structure
    ("from P where true", "from P where true"),
    ("from P where true and not Name = 'x'", "from P where true and not Name = 'x'"),
    ("from P where not A = 1", "from P where not A = 1"),
    ("from P where not (A = 1 or B = 2)", "from P where not (A = 1 or B = 2)"),
    ("from P where (A = 1 or B = 2) and C = 3", "from P where (A = 1 or B = 2) and C = 3"),
    ("from P where A = 1 or B = 2 and C = 3", "from P where A = 1 or B = 2 and C = 3"),
    ("from P where A = 1 or (B = 2 and C = 3)", "from P where A = 1 or B = 2 and C = 3"),
    ("from P where ((A = 1))", "from P where A = 1"),
    ("from P where (A = 1 and B = 2) and C = 3", "from P where A = 1 and B = 2 and C = 3"),
    ("from P where A = 1 or (B = 2 or C = 3)", "from P where A = 1 or B = 2 or C = 3"),
    ("from P where not not A = 1", "from P where not not A = 1"),
    ("from P where A = 1 and not (B = 2 and C = 3)", "from P where A = 1 and not (B = 2 and C = 3)"),
    # paths and literals
    ("from Orders where Lines[].ProductName = 'Chang'", "from Orders where Lines[].ProductName = 'Chang'"),
    ("from P where 'First Name' = 'x'", "from P where 'First Name' = 'x'"),
    ("from P where Address.\"Postal Code\" = 1", "from P where Address.'Postal Code' = 1"),
    ("from P where A = -1.5", "from P where A = -1.5"),
    ("from P where A = 1e3", "from P where A = 1000.0"),
    ("from P where A = TRUE or B = False or C = NULL", "from P where A = true or B = false or C = null"),
    ("from P where A = \"it's\"", "from P where A = 'it\\'s'"),
    ("from P where A = 'a''b'", "from P where A = 'a\\'b'"),
    ("from P where A = 'back\\\\slash'", "from P where A = 'back\\\\slash'"),
    # order by
    ("from P order by Name", "from P order by Name"),
    ("from P order by Name asc", "from P order by Name"),
    ("from P order by PricePerUnit as double desc", "from P order by PricePerUnit as double desc"),
    ("from P order by Units AS LONG ascending", "from P order by Units as long"),
    ("from P order by Code as alphanumeric", "from P order by Code as alphaNumeric"),
    ("from P order by Name as string", "from P order by Name as string"),
    ("from P order by score(), random()", "from P order by score(), random()"),
    ("from P order by random('s''eed') desc", "from P order by random('s\\'eed') desc"),
    ("from P order by Name descending nulls first", "from P order by Name desc nulls first"),
    ("from P order by id(), Address.City nulls last", "from P order by id(), Address.City nulls last"),
    # select, include, paging
    ("from P select Name, Address.City as City", "from P select Name, Address.City as City"),
    ("from P select distinct Category", "from P select distinct Category"),
    ("from P select Name, id() as Id", "from P select Name, id() as Id"),
    ("from P select Name as 'Product Name'", "from P select Name as 'Product Name'"),
    ("from Orders select Lines[].ProductName as Names", "from Orders select Lines[].ProductName as Names"),
    ("from P include Supplier, Category", "from P include Supplier, Category"),
    ("from P limit 10", "from P limit 10"),
    ("from P limit 5, 10", "from P limit 5, 10"),
    ("from P limit 10 offset 5", "from P limit 5, 10"),
    ("from P offset 5 limit 10", "from P limit 5, 10"),
    ("from P offset 5", "from P offset 5"),
    ("from P limit $p0, $p1", "from P limit $p0, $p1"),
    ("from P limit $p0, null", "from P limit $p0, null"),
    ("from P select Name limit 1 include Supplier", "from P select Name include Supplier limit 1"),
    (
        "from Orders as o where o.Freight > 10 order by o.Freight as double desc "
        "select o.Company as C, id() include o.Company limit 0, 5",
        "from Orders as o where o.Freight > 10 order by o.Freight as double desc "
        "select o.Company as C, id() include o.Company limit 0, 5",
    ),
    # vector search: every form RavenDB's RQL accepts
    ("from P where vector.search(Tags, $p0)", "from P where vector.search(Tags, $p0)"),
    ("from P where vector.search(Tags, 'text')", "from P where vector.search(Tags, 'text')"),
    (
        "from P where vector.search(embedding.text(Name), $p0, 0.82, 20)",
        "from P where vector.search(embedding.text(Name), $p0, 0.82, 20)",
    ),
    (
        "from P where vector.search(embedding.text(Name), $p0, 0.75, null)",
        "from P where vector.search(embedding.text(Name), $p0, 0.75)",
    ),
    ("from P where vector.search(Tags, $p0, null, 10)", "from P where vector.search(Tags, $p0, null, 10)"),
    ("from P where vector.search(Tags, $p0, null, null)", "from P where vector.search(Tags, $p0)"),
    ("from P where vector.search(Tags, $p0, 1)", "from P where vector.search(Tags, $p0, 1.0)"),
    *[
        (f"from P where vector.search(embedding.{kind}(Name), $p0)",
         f"from P where vector.search(embedding.{kind}(Name), $p0)")
        for kind in ("text", "text_i8", "text_i1", "f32", "f32_i8", "f32_i1", "i8", "i1")
    ],
    *[
        (f"from P where vector.search(embedding.{kind}(Name, ai.task('t-1')), $p0)",
         f"from P where vector.search(embedding.{kind}(Name, ai.task('t-1')), $p0)")
        for kind in ("text", "text_i8", "text_i1")
    ],
    (
        "from P where vector.search(embedding.text(Name, ai.task($task)), $p0)",
        "from P where vector.search(embedding.text(Name, ai.task($task)), $p0)",
    ),
    (
        "from P where vector.search(embedding.text(Name), embedding.forDoc($p0), 0.8, null)",
        "from P where vector.search(embedding.text(Name), embedding.forDoc($p0), 0.8)",
    ),
    (
        "from index 'Products/ByVector' where vector.search(VectorFromText, embedding.forDoc('products/7-A'))",
        "from index 'Products/ByVector' where vector.search(VectorFromText, embedding.forDoc('products/7-A'))",
    ),
    (
        "from index 'I' where vector.search(Vec, embedding.text($t, ai.task($id)), 0.8)",
        "from index 'I' where vector.search(Vec, embedding.text($t, ai.task($id)), 0.8)",
    ),
    (
        "from P where EXACT(Vector.Search(Embedding.Text(Name), $p0))",
        "from P where exact(vector.search(embedding.text(Name), $p0))",
    ),
    (
        "from P where boost(vector.search(Tags, $p0), 2.5)",
        "from P where boost(vector.search(Tags, $p0), 2.5)",
    ),
    (
        "from P where boost(exact(vector.search(Tags, $p0, 0.5)), 3)",
        "from P where boost(exact(vector.search(Tags, $p0, 0.5)), 3.0)",
    ),
    (
        "from P where boost(vector.search(Tags, $p0), $b)",
        "from P where boost(vector.search(Tags, $p0), $b)",
    ),
    (
        "from 'Products' where (vector.search(embedding.text(Name), $p0, 0.78, null) and "
        "vector.search(embedding.text(Address.Country), $p1, 0.82, null)) or "
        "(vector.search(embedding.text(Name), $p2, 0.8, null))",
        "from Products where vector.search(embedding.text(Name), $p0, 0.78) and "
        "vector.search(embedding.text(Address.Country), $p1, 0.82) or "
        "vector.search(embedding.text(Name), $p2, 0.8)",
    ),
    (
        "from P where vector.search(embedding.text(Name), $p0) and PricePerUnit > $p1",
        "from P where vector.search(embedding.text(Name), $p0) and PricePerUnit > $p1",
    ),
    ("from 'Users' where name = cmpxchg($p0) and last_name = CmpXchg('Tom')",
     "from Users where name = cmpxchg($p0) and last_name = cmpxchg('Tom')"),
    ("from P where intersect(Name = $p0, search(Desc, $p1), (A = 1 or B = 2))",
     "from P where Name = $p0 and search(Desc, $p1) and (A = 1 or B = 2)"),
    ("from P where Fuzzy(Name == $p0, 0.5) or fuzzy(Name = 'x', 1)",
     "from P where fuzzy(Name = $p0, 0.5) or fuzzy(Name = 'x', 1.0)"),
    ("from P where Proximity(search(Name, $p0), 2) or proximity(search(Name, 'a b', and), 0)",
     "from P where proximity(search(Name, $p0), 2) or proximity(search(Name, 'a b', and), 0)"),
    ("from P where Lucene(Name, $p0) and not lucene(A.B, 'x*')",
     "from P where lucene(Name, $p0) and not lucene(A.B, 'x*')"),
    ("from P where Name = 1 include Explanations() limit 2", "from P where Name = 1 include explanations() limit 2"),
    ("from P include timings(), explanations($opts)", "from P include timings(), explanations($opts)"),
    ("from 'Companies' as o select { Id : id(o), cv : getMetadata(o)['@change-vector'], x: { y: '}' } }",
     "from Companies as o select { Id : id(o), cv : getMetadata(o)['@change-vector'], x: { y: '}' } }"),
    ("declare function incl(c) {\n  // a } in a comment\n  return { s: \"}\", c: c };\n}\n"
     "declare function two(a, b) { return a } from Companies as c select incl(c.Name, $p0, 3) limit 1",
     "declare function incl(c) {\n  // a } in a comment\n  return { s: \"}\", c: c };\n} "
     "declare function two(a, b) { return a } from Companies as c select incl(c.Name, $p0, 3) limit 1"),
    ("from index 'I' where search(title, $p1) include highlight(title,128,2,$p0),Highlight(content, 64, 1)",
     "from index 'I' where search(title, $p1) include highlight(title, 128, 2, $p0), highlight(content, 64, 1)"),
    ("from Orders GROUP BY Company, Array(Lines[].Product) where Count > 1 order by COUNT() desc, sum(Freight) "
     "select key() as k, Count(), SUM(Freight) as f",
     "from Orders group by Company, array(Lines[].Product) where Count > 1 order by count() desc, sum(Freight) "
     "select key() as k, count(), sum(Freight) as f"),
    ("from Orders as o group by o.Company select o.Company, count", "from Orders as o group by o.Company "
     "select o.Company, count"),
    # In where, count() is the field Count and sum(X) the field X (RavenDB reads them so).
    ("from Orders group by Company where COUNT() > 1 and sum(Freight) between 1 and 9 or count() in (4, 5) "
     "select count(), sum(Freight)",
     "from Orders group by Company where Count > 1 and Freight between 1 and 9 or Count in (4, 5) "
     "select count(), sum(Freight)"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_canonical_text(text: str, canonical: str) -> None:
    assert parse_query(text).to_rql() == canonical


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_canonical_text_parses_to_the_same_tree(text: str, canonical: str) -> None:
    assert parse_query(canonical) == parse_query(text)


def _field(*names: str) -> dict[str, Any]:
    return {
        "type": "FieldPath",
        "segments": [{"type": "PathSegment", "name": n, "array": False, "quoted": False} for n in names],
    }


def _query(**parts: Any) -> dict[str, Any]:
    query: dict[str, Any] = {
        "type": "Query",
        "source": {"type": "Source", "kind": "collection", "name": "Products", "alias": None},
        "where": None,
        "group_by": [],
        "order_by": [],
        "select": None,
        "facets": [],
        "include": [],
        "include_compare_exchange": [],
        "include_timings": False,
        "include_explanations": False,
        "highlights": [],
        "javascript": None,
        "declarations": [],
        "limit": None,
        "offset": None,
    }
    query.update(parts)
    return query


P0 = {"type": "Parameter", "name": "p0"}

AST_JSON = [
    ("from Products", _query()),
    (
        "from index 'Orders/Totals' as t",
        _query(source={"type": "Source", "kind": "index", "name": "Orders/Totals", "alias": "t"}),
    ),
    (
        "from Products where Name = $p0 limit 0, 10",
        _query(
            where={"type": "Comparison", "field": _field("Name"), "op": "=", "value": P0},
            limit={"type": "Literal", "value": 10},
            offset={"type": "Literal", "value": 0},
        ),
    ),
    (
        "from Products where true and not (A = 1 or exists(B))",
        _query(where={"type": "And", "items": [
            {"type": "TrueExpr"},
            {"type": "Not", "expr": {"type": "Or", "items": [
                {"type": "Comparison", "field": _field("A"), "op": "=", "value": {"type": "Literal", "value": 1}},
                {"type": "Exists", "field": _field("B")},
            ]}},
        ]}),
    ),
    (
        "from Products where Lines[].Product in ('products/1-A') and id() != 'x'",
        _query(where={"type": "And", "items": [
            {
                "type": "In",
                "field": {"type": "FieldPath", "segments": [
                    {"type": "PathSegment", "name": "Lines", "array": True, "quoted": False},
                    {"type": "PathSegment", "name": "Product", "array": False, "quoted": False},
                ]},
                "values": [{"type": "Literal", "value": "products/1-A"}],
                "all": False,
            },
            {"type": "Comparison", "field": {"type": "IdField", "alias": None}, "op": "!=",
             "value": {"type": "Literal", "value": "x"}},
        ]}),
    ),
    (
        "from Products order by PricePerUnit as double desc, score() select distinct Name as N include Supplier",
        _query(
            order_by=[
                {"type": "OrderBy", "target": _field("PricePerUnit"), "ordering": "double", "descending": True,
                 "nulls": None},
                {"type": "OrderBy", "target": {"type": "ScoreOrder"}, "ordering": None, "descending": False,
                 "nulls": None},
            ],
            select={"type": "Select", "distinct": True, "projections": [
                {"type": "Projection", "field": _field("Name"), "alias": "N"},
            ]},
            include=[_field("Supplier")],
        ),
    ),
    (
        "from Products include Supplier, cmpxchg('Owner.Key'), timings()",
        _query(include=[_field("Supplier")], include_compare_exchange=[_field("Owner", "Key")], include_timings=True),
    ),
    (
        "from Products where boost(exact(vector.search(embedding.text_i8(Name, ai.task('t')), $p0, 0.75, 20)), 2)",
        _query(where={
            "type": "VectorSearch",
            "field": {"type": "VectorField", "kind": "text_i8", "path": _field("Name"),
                      "task": {"type": "Literal", "value": "t"}},
            "query": P0,
            "minimum_similarity": 0.75,
            "number_of_candidates": 20,
            "exact": True,
            "boost": 2.0,
        }),
    ),
    (
        "from Products where vector.search(Vec, embedding.forDoc($p0)) "
        "or vector.search(V, embedding.text($t, ai.task($k)))",
        _query(where={"type": "Or", "items": [
            {"type": "VectorSearch", "field": {"type": "VectorField", "kind": "field", "path": _field("Vec"),
                                               "task": None},
             "query": {"type": "ForDoc", "doc_id": P0}, "minimum_similarity": None,
             "number_of_candidates": None, "exact": False, "boost": None},
            {"type": "VectorSearch", "field": {"type": "VectorField", "kind": "field", "path": _field("V"),
                                               "task": None},
             "query": {"type": "TextWithTask", "text": {"type": "Parameter", "name": "t"},
                       "task": {"type": "Parameter", "name": "k"}, "kind": "text"},
             "minimum_similarity": None, "number_of_candidates": None, "exact": False, "boost": None},
        ]}),
    ),
]


@pytest.mark.parametrize(("text", "expected"), AST_JSON)
def test_ast_json(text: str, expected: dict[str, Any]) -> None:
    assert parse_query(text).to_json() == expected


def test_vector_field_reports_ravendb_embedding_types() -> None:
    kinds = {
        "field": ("Single", "Single"), "f32": ("Single", "Single"), "text": ("Text", "Single"),
        "text_i8": ("Text", "Int8"),
        "text_i1": ("Text", "Binary"), "f32_i8": ("Single", "Int8"), "f32_i1": ("Single", "Binary"),
        "i8": ("Int8", "Int8"), "i1": ("Binary", "Binary"),
    }
    for kind, (source, destination) in kinds.items():
        field = ast.VectorField(kind, ast.FieldPath((ast.PathSegment("F"),)))  # type: ignore[arg-type]
        assert (field.source_type, field.destination_type) == (source, destination)


def test_query_lists_its_parameters_in_order() -> None:
    query = parse_query("from P where A = $a and B in ($b, $c) order by random($d) limit $e, $f")
    assert [p.name for p in query.parameters()] == ["a", "b", "c", "d", "f", "e"]


ERRORS = [
    # (query, position, fragments the message must contain)
    ("select Name", 0, ["line 1, column 1", "unexpected 'select'", "expected 'from'"]),
    ("from", 4, ["unexpected end of query", "a name"]),
    ("from Products where", 19, ["unexpected end of query", "'not'", "'vector.search('"]),
    ("from Products where Name =", 26, ["end of query", "a $parameter", "a string"]),
    ("from Products wher Name = 1", 14, ["unexpected 'wher'", "'where'", "'order'"]),
    ("from Products where Name ~ 1", 25, ["unexpected character '~'", "a comparison operator"]),
    ("from Products\nwhere Name = 'abc", 27, ["line 2, column 14", "unterminated string"]),
    ("from Products where Name = 'x' limit", 36, ["end of query", "a number"]),
    ("from Products where (Name = 'x'", 31, ["end of query", "')'"]),
    ("from Products where Name = 'x' order Name", 37, ["unexpected 'Name'", "'by'"]),
    ("from Products limit 1, 2 offset 3", 25, ["Cannot use 'offset' after 'limit $skip, $take'"]),
    ("from Products where proximity(Name = 'x', 2)", 20, ["proximity() applies to a search() clause"]),
    ("from Products where proximity(search(Name, 'x'), 1.5)", 49, ["proximity distance must be a whole number"]),
    ("from Products where proximity(proximity(search(Name, 'x'), 1), 2)", 20, ["applies to a search() clause"]),
    ("from Products where fuzzy(Name > 'x', 0.5)", 31, ["fuzzy() needs an equality"]),
    ("from Products where fuzzy(Name = 'x', 1.5)", 38, ["similarity must be between 0.0 and 1.0"]),
    ("from Products where intersect(Name = 'x')", 40, ["unexpected ')'", "','"]),
    ("from Products include highlight(Name, 1.5, 2)", 38, ["highlight() needs whole numbers"]),
    ("declare function f(x) { return '}' ", 22, ["unterminated 'declare function'"]),
    ("from Products select { Name: p.Name", 21, ["unexpected character '{'"]),
    ("from Products where vector.search(Name)", 38, ["unexpected ')'", "','"]),
    ("from Products where vector.search(Name, $p, 1.5)", 44, ["Minimum similarity must be between 0.0 and 1.0"]),
    ("from Products where vector.search(Name, $p, 0.5, 2.5)", 49, ["Number of candidates must be a positive"]),
    ("from Products where vector.search(Name, $p, 0.5, 0)", 49, ["Number of candidates must be a positive"]),
    ("from Products where vector.search(embedding.i8(V, ai.task('t')), $p)", 34, ["only be used with embedding.text"]),
    ("from Products where vector.search(V, embedding.i8($t, ai.task('t')))", 37, ["Only embedding.text can embed"]),
    ("from Products where vector.search(embedding.f16(V), $p)", 47, ["unexpected '('"]),
    ("from Products where Name = 'x' garbage", 31, ["unexpected 'garbage'"]),
    ("from Products where Name = 'x' # ", 31, ["unexpected character '#'"]),
    ("from Orders group by Company where sum(o.Freight) > 1", 35,
     ["sum() must be called with a single field name, but was called: sum(o.Freight)"]),
    ("from Orders group by Company where count(o) > 1", 41, ["unexpected 'o'", "')'"]),
    ("from Orders group by Company where max(Freight) > 1", 38, ["unexpected '('"]),
]


@pytest.mark.parametrize(("text", "position", "fragments"), ERRORS)
def test_syntax_errors_are_invalid_query_errors_with_position(text: str, position: int, fragments: list[str]) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        parse_query(text)
    error = caught.value
    assert error.position == position
    assert error.query == text
    for fragment in fragments:
        assert fragment in error.message
    assert error.__cause__ is None or not isinstance(error.__cause__, InvalidQueryError)


def test_error_message_points_at_the_offending_token() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        parse_query("from Products\nwhere Name = 'x' or )")
    lines = caught.value.message.splitlines()
    assert lines[0].startswith("Invalid query at line 2, column 21: unexpected ')'")
    assert lines[1:] == ["  where Name = 'x' or )", "                      ^"]


def _lark_error_classes() -> list[type[lark.exceptions.LarkError]]:
    return [
        cls for _, cls in inspect.getmembers(lark.exceptions, inspect.isclass)
        if issubclass(cls, lark.exceptions.LarkError)
    ]


@pytest.mark.parametrize("cls", _lark_error_classes(), ids=lambda cls: cls.__name__)
def test_every_lark_exception_type_is_mapped(cls: type[lark.exceptions.LarkError]) -> None:
    assert cls in LARK_ERRORS


def test_lark_errors_never_leak() -> None:
    # Some of lark's exception classes have untyped constructors.
    samples: list[lark.exceptions.LarkError] = [
        lark.exceptions.GrammarError("bad grammar"),
        lark.exceptions.ConfigurationError("bad config"),
        lark.exceptions.LexError("bad lex"),
        lark.exceptions.ParseError("bad parse"),
        lark.exceptions.UnexpectedEOF(["NAME"]),  # type: ignore[no-untyped-call]
        lark.exceptions.UnexpectedInput(),
        lark.exceptions.VisitError("rule", None, InvalidQueryError("inner")),  # type: ignore[no-untyped-call]
        lark.exceptions.VisitError("rule", None, ValueError("inner")),  # type: ignore[no-untyped-call]
    ]
    for sample in samples:
        translated = _translate_lark_error(sample, "from X")
        assert isinstance(translated, RookError)
        assert not isinstance(translated, lark.exceptions.LarkError)
    internal = _translate_lark_error(lark.exceptions.GrammarError("bad"), "from X")
    assert type(internal) is RookError and internal.status_code == 500


def test_parsed_queries_are_cached_by_text() -> None:
    text = "from Products where Name = $cached"
    assert parse_query(text) is parse_query(text)


# ---- every query the official client writes must parse ------------------------------------------

WIRE_REFERENCE_QUERIES = [
    # queries as the official client writes them
    "from 'Products' where Name = $p0 limit $p1, $p2",
    "from 'Products' where PricePerUnit > $p0",
    "from Products where PricePerUnit > $min",
    "from 'Products' limit $p0, $p1",
    "from 'Products' select Name",
    "from index 'Name'",
    # vector search as the official client writes it
    "from 'Products' where vector.search(embedding.text(Name), $p0, 0.82, 20)",
    "from 'Products' where exact(vector.search(embedding.text(Name), $p0))",
    "from 'Products' where vector.search(embedding.text(Name, ai.task('id-for-task-open-ai')), $p0, 0.75, null)",
    "from 'Products' where vector.search(tags_embedded_as_single, $p0, 0.85, 10)",
    "from 'Products' where vector.search(embedding.f32_i8(tags), $p0)",
    "from 'Products' where vector.search(embedding.f32_i1(tags), $p0)",
    "from 'Products' where vector.search(embedding.i8(tags_i8), $p0)",
    "from 'Products' where vector.search(embedding.i1(tags_i1), $p0)",
    "from 'Products' where vector.search(embedding.text_i8(Name), $p0)",
    "from 'Products' where vector.search(embedding.text(Name), $p0, 0.75, 16) and PricePerUnit > $p1",
    "from 'Products' where (vector.search(embedding.text(Name), $p0, 0.78, null) and "
    "vector.search(embedding.text(Address.Country), $p1, 0.82, null)) or "
    "(vector.search(embedding.text(Name), $p2, 0.8, null))",
    "from 'Products' where vector.search(embedding.text(Name), embedding.forDoc($p0), 0.8, null)",
    "from index 'Products/ByVector' where vector.search(VectorFromText, $p0, 0.8, null)",
    "from index 'Products/ByVector' where vector.search(VectorFromText, embedding.forDoc($p0))",
    "from 'Categories' where vector.search(embedding.text(Name, ai.task('id-for-task-open-ai')), $searchTerm, 0.75)",
    # dynamic group by, as RavenDB's docs write it
    "from Orders group by Company select count() as Count, key() as Company",
    "from Orders group by Company order by Count as long desc select key() as Company, count() as Count, "
    "sum(Freight) as Freight",
    "from Orders group by lines[].product, ship_to.country order by count() select lines[].product as product_name, "
    "ship_to.country as country, count() as count",
    "from Orders group by array(lines[].product) order by count() select key() as products, count() as count",
]


@pytest.mark.parametrize("text", WIRE_REFERENCE_QUERIES)
def test_wire_reference_queries_parse_and_round_trip(text: str) -> None:
    query = parse_query(text)
    assert parse_query(query.to_rql()) == query


class _Product:
    def __init__(self, Name: str = "", PricePerUnit: float = 0, Id: str = "", Tags: Any = None) -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit
        self.Id = Id
        self.Tags = Tags


def _client_queries(session: Any) -> list[Any]:
    from ravendb.documents.indexes.vector.embedding import VectorEmbeddingType
    from ravendb.documents.queries.group_by import GroupBy
    from ravendb.documents.session.misc import OrderingType
    from ravendb.documents.session.query_group_by import GroupByField

    def q() -> Any:
        return session.query(object_type=_Product)

    return [
        q().where_equals("Name", "Chang").take(10),
        q().where_equals("Name", None).skip(5).take(10),
        q().where_not_equals("Name", "x").and_also().where_in("Name", ["a", "b"]),
        q().not_().where_equals("Name", "x"),
        q().where_equals("Name", "x", exact=True).or_else().where_regex("Name", "^C"),
        q().where_starts_with("Name", "C").and_also().not_().where_exists("Name"),
        q().where_ends_with("Name", "x").where_less_than("PricePerUnit", 3).where_greater_than("PricePerUnit", 1),
        q().where_less_than_or_equal("PricePerUnit", 3).where_greater_than_or_equal("PricePerUnit", 1),
        q().where_between("PricePerUnit", 1, 5),
        q().contains_all("Tags", ["a", "b"]).contains_any("Tags", ["c"]),
        q().open_subclause().where_equals("Name", "a").or_else().where_equals("Name", "b").close_subclause()
        .and_also().where_greater_than_or_equal("PricePerUnit", 3),
        q().search("Name", "chef anton").boost(2),
        q().search("Name", "a b").search("Name", "c").where_equals("Id", "products/1-A"),
        q().order_by("Name").order_by_descending("PricePerUnit", OrderingType.FLOAT),
        q().order_by("PricePerUnit", OrderingType.LONG).order_by("Name", OrderingType.ALPHA_NUMERIC),
        q().order_by_score().order_by_score_descending().random_ordering("s'eed"),
        q().random_ordering(),
        q().select_fields(_Product, "Name", "Id"),
        q().distinct().select_fields(_Product, "Name"),
        q().include("Supplier").include("Lines[].Product"),
        session.query_collection("Products").where_equals("Name", "x"),
        session.query_index("Orders/Totals", _Product).where_equals("Name", "x"),
        q().vector_search_text("Name", "italian food", minimum_similarity=0.82, number_of_candidates=20),
        q().vector_search_text("Name", "italian food", is_exact=True),
        q().vector_search_text("Name", "candy", embedding_generation_task_identifier="task-1",
                               minimum_similarity=0.75),
        q().vector_search("tags", [6.6, 7.7], 0.85, 10),
        q().vector_search("tags", [6.6, 7.7], target_quantization=VectorEmbeddingType.INT8),
        q().vector_search_f32_i1("tags", [6.6, 7.7]),
        q().vector_search_i8("tags_i8", [1, 2, 3, 4, 5, 6]),
        q().vector_search_i1("tags_i1", [1, 0]),
        q().vector_search_text_i8("Name", "italian food"),
        q().vector_search_text_i1("Name", "italian food"),
        q().vector_search_text_i8_using_task("Name", "food", "task-1"),
        q().vector_search_text_i1_using_task("Name", "food", "task-1"),
        q().vector_search_text("Name", "x", minimum_similarity=0.75, number_of_candidates=16)
        .where_greater_than("PricePerUnit", 35),
        q().vector_search_text_for_document("Name", "products/7-A", minimum_similarity=0.8),
        session.query_index("Products/ByVector", _Product).vector_search_with_text_field(
            "VectorFromText", "italian food", 0.8),
        session.query_index("Products/ByVector", _Product).vector_search_with_field_for_document(
            "VectorFromText", "products/7-A"),
        q().group_by("Name").select_key().select_count().order_by_descending("count"),
        q().group_by(GroupBy.array("Tags"), GroupBy.field("Name")).select_key("Name", "N")
        .select_sum(GroupByField("PricePerUnit")).where_greater_than("count", 1),
    ]


def test_every_query_the_official_client_writes_parses(client_session: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # older spellings still reach servers
        texts = [query.index_query.query for query in _client_queries(client_session)]
    assert len(texts) > 30
    for text in texts:
        parsed = parse_query(text)
        assert parse_query(parsed.to_rql()) == parsed, text
