"""Search analysis: words, terms with wildcards, and the FTS5 queries they become."""

from __future__ import annotations

import pytest

from rookdb.indexes.fulltext import (
    analyze,
    field_text,
    match_expression,
    search_terms,
    similar,
)
from rookdb.indexes.plan import SearchTerm

WORDS = ["sauce", "applesauce", "saucer", "chef", "anton", "s"]


def vocabulary(accept: object) -> list[str]:
    assert callable(accept)
    return [word for word in WORDS if accept(word)]


def test_analysis_lower_cases_and_splits_at_punctuation() -> None:
    assert analyze("Chef Anton's Gumbo-Mix, 12_oz!") == ["chef", "anton", "s", "gumbo", "mix", "12_oz"]
    assert field_text(["Côte de Blaye", ["Ikura", 18.5], True, None, {"x": 1}]) == "côte de blaye ikura 18 5 true"


def test_terms_keep_their_wildcards_and_drop_empty_ones() -> None:
    assert search_terms("  Cook*  *sauce *ant* anton's *** ?") == (
        SearchTerm(("cook",), False, True), SearchTerm(("sauce",), True, False), SearchTerm(("ant",), True, True),
        SearchTerm(("anton", "s"), False, False))


@pytest.mark.parametrize(("text", "require_all", "expression"), [
    ("chef", False, '("chef")'),
    ("chef gumbo", False, '("chef") OR ("gumbo")'),
    ("chef gumbo", True, '("chef") AND ("gumbo")'),
    ("cook*", False, '("cook"*)'),
    ("*sauce", False, '("sauce" OR "applesauce")'),
    ("*auc*", False, '("sauce" OR "applesauce" OR "saucer")'),
    ("anton's", False, '("anton" AND "s")'),
    ("*zzz chef", False, '("chef")'),
    ("*zzz chef", True, None),
    ("***", False, None),
])
def test_match_expressions(text: str, require_all: bool, expression: str | None) -> None:
    assert match_expression(search_terms(text), require_all, vocabulary) == expression


@pytest.mark.parametrize(("text", "term", "similarity", "matches"), [
    ("codeforge", "coedforhe", 0.5, True),  # 3 edits in 9: 0.67
    ("codeforge", "coedforhe", 0.67, False),
    ("hibernating rhinos", "hiberanting rinhos", 0.5, True),
    ("chai", "chal", 0.75, False),  # exactly 0.75 is not above it
    ("chai", "chai", 0.99, True),
    ("chai", "", 0.0, False),
    ("chang", "codeforge", 0.1, False),
])
def test_similar_is_lucenes_fuzzy_test(text: str, term: str, similarity: float, matches: bool) -> None:
    assert similar(text, term, similarity) is matches
