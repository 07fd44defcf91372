"""The lexical side of the grammar: keywords, names, literals, comments (RavenDB's ScannerTests)."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.query import ast
from rookdb.query.parser import parse_query


def _where(text: str) -> Any:
    return parse_query(f"from Products where {text}").where


def _value(literal: str) -> Any:
    where = _where(f"X = {literal}")
    assert isinstance(where, ast.Comparison)
    return where.value


@pytest.mark.parametrize(
    "text",
    [
        "from Products where Name = 'x' order by Name desc select Name include Supplier limit 1",
        "FROM Products WHERE Name = 'x' ORDER BY Name DESC SELECT Name INCLUDE Supplier LIMIT 1",
        "From Products Where Name = 'x' Order By Name Desc Select Name Include Supplier Limit 1",
    ],
)
def test_keywords_are_case_insensitive(text: str) -> None:
    assert parse_query(text).to_rql() == (
        "from Products where Name = 'x' order by Name desc select Name include Supplier limit 1"
    )


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'line\nbreak\ttab'", "line\nbreak\ttab"),
        (r"'\u00e9t\u00E9'", "été"),
        ("'Côte de Blaye'", "Côte de Blaye"),
        ("'multi\nline'", "multi\nline"),
        ("''", ""),
    ],
)
def test_string_literals_and_escapes(literal: str, expected: str) -> None:
    assert _value(literal) == ast.Literal(expected)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("3.25", 3.25),
        ("-0.5", -0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("12345678901234567890", 12345678901234567890),
        ("true", True),
        ("TRUE", True),
        ("false", False),
        ("null", None),
        ("NULL", None),
    ],
)
def test_number_boolean_and_null_literals(literal: str, expected: Any) -> None:
    value = _value(literal)
    assert value == ast.Literal(expected)
    assert type(value.value) is type(expected)


@pytest.mark.parametrize("name", ["p0", "min", "searchTerm", "_x1", "0"])
def test_parameters(name: str) -> None:
    assert _value(f"${name}") == ast.Parameter(name)


def test_parameter_remembers_its_position() -> None:
    where = _where("Name = $p0")
    assert isinstance(where, ast.Comparison) and isinstance(where.value, ast.Parameter)
    assert where.value.position == len("from Products where Name = ")


@pytest.mark.parametrize(
    "field",
    ["Select", "Order", "Search", "Exists", "Vector", "Embedding", "Boost", "Exact", "Id", "Score", "Limit"],
)
def test_keywords_and_method_names_are_fields_where_a_field_is_expected(field: str) -> None:
    assert _where(f"{field} = 1") == ast.Comparison(
        ast.FieldPath((ast.PathSegment(field),)), "=", ast.Literal(1)
    )


@pytest.mark.parametrize("spacing", ["startsWith(Name, 'a')", "startsWith (Name, 'a')", "STARTSWITH(\nName,'a')"])
def test_a_method_name_is_a_method_when_a_parenthesis_follows(spacing: str) -> None:
    assert isinstance(_where(spacing), ast.StartsWith)


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("Name", [("Name", False, False)]),
        ("Address.City", [("Address", False, False), ("City", False, False)]),
        ("Lines[].ProductName", [("Lines", True, False), ("ProductName", False, False)]),
        ("'First Name'", [("First Name", False, True)]),
        ('"Address".\'Postal Code\'', [("Address", False, True), ("Postal Code", False, True)]),
        ("@metadata.@collection", [("@metadata", False, False), ("@collection", False, False)]),
        ("Größe", [("Größe", False, False)]),
    ],
)
def test_field_paths(path: str, segments: list[tuple[str, bool, bool]]) -> None:
    where = _where(f"{path} = 1")
    assert isinstance(where, ast.Comparison)
    assert where.field == ast.FieldPath(tuple(ast.PathSegment(*s) for s in segments))


def test_comments_and_whitespace_are_ignored() -> None:
    text = "from Products // every product\n\twhere /* cheap */ PricePerUnit < 10\r\n"
    assert parse_query(text).to_rql() == "from Products where PricePerUnit < 10"


@pytest.mark.parametrize("collection", ["@all_docs", "@ALL_DOCS", "@All_Docs", "'@all_docs'", '"@All_Docs"'])
def test_all_docs_is_case_insensitive(collection: str) -> None:
    assert parse_query(f"from {collection}").source == ast.Source("all_docs", None)
