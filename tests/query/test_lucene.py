"""Lucene query strings read into RQL clauses."""

from __future__ import annotations

import re

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.query import ast
from rookdb.query.lucene import lucene_clause

NODE = ast.Lucene(ast.FieldPath((ast.PathSegment("Name"),)), ast.Literal("unused"))


@pytest.mark.parametrize(("text", "rql"), [
    ("Tarzan", "Name = 'Tarzan'"),
    ("john tarzan", "Name = 'john' or Name = 'tarzan'"),
    ("john OR tarzan", "Name = 'john' or Name = 'tarzan'"),
    ("a AND b || c", "Name = 'a' and Name = 'b' or Name = 'c'"),
    ("+john -tarzan jane", "Name = 'john' and not Name = 'tarzan'"),
    ("-tarzan", "true and not Name = 'tarzan'"),
    ("NOT john", "not Name = 'john'"),
    ("a AND (b OR c)", "Name = 'a' and (Name = 'b' or Name = 'c')"),
    ('"Come With Me"', "Name = 'Come With Me'"),
    ("bar*", "startsWith(Name, 'bar')"),
    ("*bar", "endsWith(Name, 'bar')"),
    ("*", "exists(Name)"),
    ("b?r*x", "regex(Name, '(?i)^b.r.*x$')"),
    ("a\\*b", "Name = 'a*b'"),
    ("Address.City:London", "Address.City = 'London'"),
    ("Tags:(a b)", "Tags = 'a' or Tags = 'b'"),
    ("Price:[10 TO 20]", "Price >= 10 and Price <= 20"),
    ("Price:{10.5 TO *]", "Price > 10.5"),
    ("Price:[* TO *]", "exists(Price)"),
    ("codeforg~", "fuzzy(Name = 'codeforg', 0.5)"),
    ("codeforg~0.8", "fuzzy(Name = 'codeforg', 0.8)"),
    ("tarzan^2 john", "boost(Name = 'tarzan', 2.0) or Name = 'john'"),
])
def test_clauses(text: str, rql: str) -> None:
    assert lucene_clause(NODE, text, "q").to_rql() == rql


@pytest.mark.parametrize(("text", "message"), [
    ("(a", "missing ')'"),
    (")", "empty clause"),
    ("a AND", "unexpected end"),
    ("Price:[1 TO]", "a range is written"),
    ("", "needs a non-empty query string"),
    (None, "needs a non-empty query string"),
])
def test_malformed_queries_are_invalid_queries(text: str | None, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=re.escape(message)):
        lucene_clause(NODE, text, "q")
