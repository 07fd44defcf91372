"""Search analysis: words, terms with wildcards, and the FTS5 queries they become."""

from __future__ import annotations

import math
import sqlite3

import pytest

from rookdb.indexes.fulltext import (
    analyze,
    field_text,
    lucene_scores,
    match_expression,
    row_count,
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


def fts_table(bodies: list[str]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", list(enumerate(bodies, start=1)))
    db.execute("COMMIT")
    return db


def averages(db: sqlite3.Connection) -> bytes | None:
    row = db.execute("SELECT block FROM t_data WHERE id = 1").fetchone()
    return None if row is None else bytes(row[0])


@pytest.mark.parametrize("rows", [0, 1, 127, 128, 20_000])
def test_row_count_is_what_fts5_counts(rows: int) -> None:
    db = fts_table([f"word{n}" for n in range(rows + 3)])
    db.execute("DELETE FROM t WHERE rowid <= 3")
    assert row_count(averages(db)) == rows == db.execute("SELECT count(*) FROM t").fetchone()[0]


def test_row_count_of_an_empty_record() -> None:
    assert row_count(None) == row_count(b"") == 0


def test_lucene_scores_are_bm25_with_lucenes_term_weight() -> None:
    bodies = ["me me too", "come with me", "me", "spanish grease"]
    db = fts_table(bodies)
    total = row_count(averages(db))
    found = lucene_scores(db.execute("SELECT rowid, bm25(t) FROM t WHERE t MATCH '\"me\"'").fetchall(), total)
    average_length = sum(len(body.split()) for body in bodies) / len(bodies)
    weight = math.log(1 + (4 - 3 + 0.5) / (3 + 0.5))  # "me" is in 3 of 4 documents: FTS5 would floor it
    expected = {doc: weight * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average_length))
                for doc, tf, length in [(1, 2, 3), (2, 1, 3), (3, 1, 1)]}
    assert found == pytest.approx(expected, rel=1e-9)
    assert found[3] > found[1] > found[2] > 0.1


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
