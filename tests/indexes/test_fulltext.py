"""Search analysis: words, terms with wildcards, and the FTS5 queries they become."""

from __future__ import annotations

import pytest

from rookdb.indexes.fulltext import (
    analyze,
    field_text,
    match_expression,
    phrase_words,
    search_terms,
    similar,
    sloppy_frequency,
    sloppy_in_body,
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


@pytest.mark.parametrize(("text", "words"), [
    ("The fox is quick", ["fox", "quick"]),
    ("quick_fox 12_oz a_1 __", ["quick", "fox", "12_oz", "a_1"]),
    ("To be or not to be", []),
])
def test_phrase_words_drop_stop_words_and_split_underscores_between_letters(text: str, words: list[str]) -> None:
    assert phrase_words(analyze(text)) == words


@pytest.mark.parametrize(("text", "phrase", "slop", "frequency"), [
    ("a quick brown fox", "quick fox", 0, 0.0),
    ("a quick brown fox", "quick fox", 1, 1 / 2),  # one word between
    ("a quick fox", "quick fox", 0, 1.0),
    ("the fox is quick", "quick fox", 1, 0.0),  # reversed: moving costs 2 ("the", "is" take no position)
    ("the fox is quick", "quick fox", 2, 1 / 3),
    ("quick fox, quick brown fox", "quick fox", 1, 1 + 1 / 2),  # every occurrence counts
    ("fox", "fox", 0, 1.0),
    ("fox fox", "fox", 0, 2.0),  # one word: its frequency
    ("quick brown", "quick fox", 5, 0.0),
    ("anything", "", 3, 0.0),
])
def test_sloppy_frequency_is_lucenes(text: str, phrase: str, slop: int, frequency: float) -> None:
    words = phrase_words(analyze(text))
    assert sloppy_frequency(words, phrase_words(analyze(phrase)), slop) == pytest.approx(frequency)
    assert sloppy_in_body(" ".join(analyze(text)), " ".join(phrase_words(analyze(phrase))), slop) == \
        pytest.approx(frequency)


def test_a_fuzzy_term_is_expanded_over_the_field_s_similar_words() -> None:
    terms = (SearchTerm(("sauser",), similarity=0.5), SearchTerm(("chfe",), similarity=0.7))
    assert match_expression(terms, False, vocabulary) == '("sauce" OR "saucer")'
    assert match_expression(terms, True, vocabulary) is None
