"""Relevance: BM25 with Lucene's term weight, term rules, sloppy phrases and phrase counts."""

from __future__ import annotations

import math
import random
import sqlite3

import pytest

from rookdb.indexes.fulltext import SLOPPY_FUNCTION, Phrase, TermQuery, search_terms, sloppy_in_body, term_queries
from rookdb.indexes.relevance import DocumentFrequencies, phrase_statement, row_count, term_scores, token_count


def fts_table(bodies: list[str]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    db.execute("CREATE VIRTUAL TABLE t_v USING fts5vocab(t, 'row')")
    db.execute("BEGIN")
    db.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", list(enumerate(bodies, start=1)))
    db.execute("COMMIT")
    return db


def averages(db: sqlite3.Connection) -> bytes | None:
    row = db.execute("SELECT block FROM t_data WHERE id = 1").fetchone()
    return None if row is None else bytes(row[0])


def words(db: sqlite3.Connection) -> list[str]:
    return [term for (term,) in db.execute("SELECT term FROM t_v")]


def scores(db: sqlite3.Connection, text: str, require_all: bool = False) -> dict[int, float]:
    terms = term_queries(search_terms(text), lambda accept: [word for word in words(db) if accept(word)])
    return term_scores(db, "t", terms, require_all, row_count(averages(db)))


def reference(bodies: list[str], text: str, require_all: bool = False) -> dict[int, float]:
    """Lucene-weighted BM25 computed in Python, term by term, for plain words and ``word*``."""
    documents = [body.split() for body in bodies]
    average = sum(map(len, documents)) / len(documents)

    def phrase_scores(word: str, prefix: bool) -> dict[int, float]:
        counts = {number: sum(1 for token in tokens if (token.startswith(word) if prefix else token == word))
                  for number, tokens in enumerate(documents, start=1)}
        counts = {number: count for number, count in counts.items() if count}
        weight = math.log(1 + (len(documents) - len(counts) + 0.5) / (len(counts) + 0.5))
        return {number: weight * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(documents[number - 1]) / average))
                for number, tf in counts.items()}

    parts = [phrase_scores(word.rstrip("*"), word.endswith("*")) for word in text.split()]
    matched = set.intersection(*(set(part) for part in parts)) if require_all else set().union(*parts)
    return {number: sum(part.get(number, 0.0) for part in parts) for number in matched}


@pytest.mark.parametrize("rows", [0, 1, 127, 128, 20_000])
def test_row_count_is_what_fts5_counts(rows: int) -> None:
    db = fts_table([f"word{n}" for n in range(rows + 3)])
    db.execute("DELETE FROM t WHERE rowid <= 3")
    assert row_count(averages(db)) == rows == db.execute("SELECT count(*) FROM t").fetchone()[0]


def test_row_count_of_an_empty_record() -> None:
    assert row_count(None) == row_count(b"") == 0


def test_a_word_in_most_documents_keeps_a_positive_weight() -> None:
    bodies = ["me me too", "come with me", "me", "spanish grease"]
    found = scores(fts_table(bodies), "me")
    average_length = sum(len(body.split()) for body in bodies) / len(bodies)
    weight = math.log(1 + (4 - 3 + 0.5) / (3 + 0.5))  # "me" is in 3 of 4 documents: FTS5 would floor it
    expected = {doc: weight * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average_length))
                for doc, tf, length in [(1, 2, 3), (2, 1, 3), (3, 1, 1)]}
    assert found == pytest.approx(expected, rel=1e-9)
    assert found[3] > found[1] > found[2] > 0.1


@pytest.mark.parametrize(("text", "require_all"), [
    ("w1", False), ("w1 w2 w3", False), ("w1 w2", True), ("w1*", False), ("w1* w7", False), ("w2 w2", False),
    ("w1 nothing", False), ("w1 nothing", True),
])
def test_scores_equal_lucene_weighted_bm25_computed_term_by_term(text: str, require_all: bool) -> None:
    draws = random.Random(5)
    vocabulary = [f"w{n}" for n in range(1, 30)]
    bodies = [" ".join(draws.choices(vocabulary, k=draws.randint(1, 12))) for _ in range(300)]
    found = scores(fts_table(bodies), text, require_all)
    expected = reference(bodies, text, require_all)
    assert found == pytest.approx(expected, rel=1e-9)
    assert set(found) == set(expected)


def test_a_term_of_several_words_scores_only_where_all_are() -> None:
    db = fts_table(["anton", "anton s", "chef", "chef anton"])
    assert set(scores(db, "anton's")) == {2}
    assert set(scores(db, "anton's chef")) == {2, 3, 4}
    only_chef = scores(db, "chef")
    assert scores(db, "anton's chef")[4] == pytest.approx(only_chef[4])  # anton alone adds nothing


def test_nothing_to_match_scores_nothing() -> None:
    db = fts_table(["a"])
    assert scores(db, "zzz") == {}
    assert term_scores(db, "t", [None], True, 1) == {}
    assert set(term_scores(db, "t", [None, TermQuery((Phrase("a"),))], False, 1)) == {1}


def test_phrase_counts_are_kept_per_generation() -> None:
    db = fts_table(["cook", "cooking", "chef"])
    frequencies = DocumentFrequencies()
    phrases = [Phrase("cook"), Phrase("cook", prefix=True), Phrase("zzz")]
    assert frequencies.counts(db, 1, "t", phrases) == {phrases[0]: 1, phrases[1]: 2, phrases[2]: 0}
    db.execute("INSERT INTO t (rowid, body) VALUES (4, 'cook cookbook')")
    assert frequencies.counts(db, 1, "t", phrases)[phrases[1]] == 2  # same generation: kept
    assert frequencies.counts(db, 2, "t", phrases) == {phrases[0]: 2, phrases[1]: 3, phrases[2]: 0}


def test_a_sloppy_phrase_scores_its_frequency_with_the_sum_of_its_word_weights() -> None:
    bodies = ["a quick brown fox", "the fox is quick", "quick fox", "slow dog", "quick dog"]
    db = fts_table(bodies)
    db.create_function(SLOPPY_FUNCTION, 3, sloppy_in_body)
    words = ["quick", "fox"]
    hits = DocumentFrequencies().counts(db, 1, "t", [Phrase(word) for word in words])
    statement = phrase_statement("t", words, 2, hits, row_count(averages(db)), token_count(averages(db)), 2.0)
    assert statement is not None
    found = dict(db.execute(statement.sql, statement.params))
    weight = math.log(1 + (5 - 4 + 0.5) / (4 + 0.5)) + math.log(1 + (5 - 3 + 0.5) / (3 + 0.5))
    average = 14 / 5

    def bm25(frequency: float, length: int) -> float:
        return 2.0 * weight * frequency * 2.2 / (frequency + 1.2 * (0.25 + 0.75 * length / average))

    assert found == pytest.approx({1: bm25(1 / 2, 4), 2: bm25(1 / 3, 4), 3: bm25(1.0, 2)}, rel=1e-9)
    assert phrase_statement("t", ["quick", "zebra"], 2, {Phrase("quick"): 4}, 5, 15) is None
