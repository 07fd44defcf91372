"""LINQ parser tables (text → syntax tree as JSON) and its errors, which name line and column."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import IndexCompilationError
from rookdb.indexes.linq import ast
from rookdb.indexes.linq.parser import parse_linq


def name(value: str) -> dict[str, Any]:
    return {"type": "Name", "name": value}


def member(target: dict[str, Any], field: str, conditional: bool = False) -> dict[str, Any]:
    return {"type": "Member", "target": target, "name": field, "conditional": conditional}


def literal(value: Any, text: str) -> dict[str, Any]:
    return {"type": "Literal", "value": value, "text": text}


TREES: list[tuple[str, dict[str, Any]]] = [
    ("x.A", member(name("x"), "A")),
    ("x?.A", member(name("x"), "A", True)),
    ("@class", name("class")),
    ('"a\\"b\\n"', literal('a"b\n', '"a\\"b\\n"')),
    ('@"c:\\x ""q"""', literal('c:\\x "q"', '@"c:\\x ""q"""')),
    ("'\\t'", literal("\t", "'\\t'")),
    ("1.5m", literal(1.5, "1.5m")),
    ("10L", literal(10, "10L")),
    ("0x1F", literal(31, "0x1F")),
    ("-3", literal(-3, "-3")),
    ("a ?? b ?? c", {"type": "Coalesce", "left": name("a"),
                     "right": {"type": "Coalesce", "left": name("b"), "right": name("c")}}),
    ("a || b && c", {"type": "Binary", "op": "||", "left": name("a"),
                     "right": {"type": "Binary", "op": "&&", "left": name("b"), "right": name("c")}}),
    ("a + b * c", {"type": "Binary", "op": "+", "left": name("a"),
                   "right": {"type": "Binary", "op": "*", "left": name("b"), "right": name("c")}}),
    ("a > 1 ? b : c", {"type": "Conditional",
                       "test": {"type": "Binary", "op": ">", "left": name("a"), "right": literal(1, "1")},
                       "then": name("b"), "otherwise": name("c")}),
    ("((double ? ) x)", {"type": "Cast", "target_type": "double", "nullable": True, "operand": name("x")}),
    ("(int)x.A", {"type": "Cast", "target_type": "int", "nullable": False, "operand": member(name("x"), "A")}),
    ("(x)", name("x")),
    ("x is not null", {"type": "IsNull", "operand": name("x"), "negated": True}),
    ("!x", {"type": "Unary", "op": "!", "operand": name("x")}),
    ("x[\"@metadata\"]", {"type": "Element", "target": name("x"), "index": literal("@metadata", '"@metadata"'),
                          "conditional": False}),
    ("LoadDocument<Category>(p.C)", {"type": "Call", "target": None, "name": "LoadDocument",
                                     "arguments": [member(name("p"), "C")], "conditional": False,
                                     "type_arguments": "Category"}),
    ("this.CreateField(\"n\", 1)", {"type": "Call", "target": None, "name": "CreateField",
                                    "arguments": [literal("n", '"n"'), literal(1, "1")], "conditional": False,
                                    "type_arguments": None}),
    ("(a, b) => a", {"type": "Lambda", "parameters": ["a", "b"], "body": name("a")}),
    ("new { x.A, B = 1 }", {"type": "AnonymousObject", "type_name": None,
                            "members": [["A", member(name("x"), "A")], ["B", literal(1, "1")]]}),
    ("new object[] { a, b, }", {"type": "NewArray", "items": [name("a"), name("b")]}),
    ("new CreateFieldOptions { Storage = FieldStorage.Yes }", {
        "type": "AnonymousObject", "type_name": "CreateFieldOptions",
        "members": [["Storage", member(name("FieldStorage"), "Yes")]]}),
]


@pytest.mark.parametrize(("text", "tree"), TREES, ids=[text for text, _ in TREES])
def test_expressions_parse_into_their_tree(text: str, tree: dict[str, Any]) -> None:
    assert parse_linq(text).to_json() == tree


def test_query_syntax_with_every_clause() -> None:
    parsed = parse_linq("from o in docs.Orders from l in o.Lines let p = l.Product where p != null "
                        "group l by p into g select new { Product = g.Key }")
    assert isinstance(parsed, ast.Query)
    clauses = parsed.body.clauses
    assert [type(clause).__name__ for clause in clauses] == ["FromClause", "LetClause", "WhereClause"]
    assert isinstance(parsed.body.final, ast.GroupClause) and parsed.body.continuation is not None
    assert parsed.body.continuation.name == "g"


def test_keywords_are_names_where_a_name_is_expected() -> None:
    parsed = parse_linq("from x in docs.Items select new { x.select, x.from, x.group }")
    assert isinstance(parsed, ast.Query) and isinstance(parsed.body.final, ast.SelectClause)
    value = parsed.body.final.value
    assert isinstance(value, ast.AnonymousObject) and [n for n, _ in value.members] == ["select", "from", "group"]


def test_a_map_may_end_with_a_semicolon_as_a_statement() -> None:
    text = "from c in docs.Companies select new { c.Name }"
    assert parse_linq(text + " ;\n") == parse_linq(text)


def test_positions_are_one_based_line_and_column() -> None:
    parsed = parse_linq("from o in docs.Orders\nselect new {\n  o.Total }")
    assert isinstance(parsed, ast.Query) and isinstance(parsed.body.final, ast.SelectClause)
    value = parsed.body.final.value
    assert isinstance(value, ast.AnonymousObject)
    assert (value.members[0][1].line, value.members[0][1].column) == (3, 5)


ERRORS = [
    ("from o in docs.Orders selec new { }", "Unexpected 'selec' at line 1, column 23"),
    ("from o in docs.Orders select", "ends too early"),
    ("from o in docs.Orders select new { x = $\"{o.A}\" }", "Interpolated strings"),
    ("from o in docs.Orders select new { o.A, o.A }", "same name ('A')"),
    ("from o in docs.Orders select new { 1 + 2 }", "member declarator"),
    ("x => { return x; }", "Unexpected '{'"),
    ("'ab'", "Too many characters"),
    ("from o in docs.Orders select o;;", "Unexpected ';' at line 1, column 32"),
    ("from o in docs.Orders select o # 1", "Unexpected character '#' at line 1, column 32"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[text for text, _ in ERRORS])
def test_errors_name_the_problem_and_where(text: str, message: str) -> None:
    with pytest.raises(IndexCompilationError) as raised:
        parse_linq(text, "Reduce")
    assert message in raised.value.message
    assert raised.value.definition_property == "Reduce" and raised.value.problematic_text == text
