"""Relevance of a full-text condition: BM25 with Lucene's term weight.

FTS5's ``bm25()`` weighs a phrase found in ``n`` of ``N`` rows by ``log((N - n + 0.5) / (n + 0.5))``,
floored at 1e-6: a word in over half the documents then weighs nothing and no boost brings it back.
Lucene's ``log(1 + (N - n + 0.5) / (n + 0.5))`` is always positive. Each phrase is therefore matched
on its own and its ``bm25()`` multiplied by a constant: Lucene's weight divided by FTS5's (which
leaves the term-frequency and length part, FTS5's k1 = 1.2 and b = 0.75, Lucene's defaults too),
negated so that higher is better. A document's score is the sum over the phrases it matches, as in
both engines. One statement per phrase is deliberate: the phrases as branches of one ``UNION ALL``
(SQLite summing and ranking) measured 1.5-3x slower on SQLite 3.40 than separate statements.

A sloppy phrase (``proximity()``) is one statement: its words' document counts come from FTS5's
vocabulary table, kept per index generation (``DocumentFrequencies``).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from rookdb.indexes.fulltext import SLOPPY_FUNCTION, Phrase, TermQuery

__all__ = ["DocumentFrequencies", "ScoredStatement", "lucene_factor", "phrase_statement", "row_count",
           "term_scores", "token_count"]

_MAX_CACHED = 50_000
"""Phrase counts kept for one generation before the cache starts over."""


def lucene_factor(hits: int, total: int) -> float:
    """What turns FTS5's ``bm25()`` of a phrase found in ``hits`` of ``total`` rows into the phrase's
    BM25 with Lucene's term weight (positive, higher is better)."""
    fts5_weight = math.log((total - hits + 0.5) / (hits + 0.5))
    if fts5_weight <= 0.0:
        fts5_weight = 1e-6  # as FTS5 floors it
    return -math.log(1.0 + (total - hits + 0.5) / (hits + 0.5)) / fts5_weight


def row_count(averages: bytes | None) -> int:
    """The row count FTS5 weighs terms against, read from its averages record (the ``%_data`` row
    with id 1: SQLite varints, the row count then each column's token count); 0 for an empty table."""
    return _varints(averages or b"", 1)[0]


def token_count(averages: bytes | None) -> int:
    """The words of the (one) column in all rows, from the same record."""
    return _varints(averages or b"", 2)[1]


def _varints(data: bytes, wanted: int) -> list[int]:
    values: list[int] = []
    position = 0
    while len(values) < wanted:
        value = 0
        for length in range(9):
            if position >= len(data):
                return values + [0] * (wanted - len(values))
            byte = data[position]
            position += 1
            if length == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        values.append(value)
    return values


class DocumentFrequencies:
    """How many rows of an index's FTS5 tables hold each phrase, for the latest generation read;
    shared by the index's readers (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: object = None
        self._counts: dict[tuple[str, Phrase], int] = {}

    def counts(self, db: sqlite3.Connection, generation: object, table: str,
               phrases: Sequence[Phrase]) -> dict[Phrase, int]:
        """Each phrase's row count in ``table`` as ``db``'s snapshot (of ``generation``) sees it."""
        with self._lock:
            if generation != self._generation:
                self._generation, self._counts = generation, {}
            found = {phrase: self._counts[(table, phrase)] for phrase in phrases if (table, phrase) in self._counts}
        missing = [phrase for phrase in dict.fromkeys(phrases) if phrase not in found]
        if not missing:
            return found
        words = [phrase.word for phrase in missing if not phrase.prefix]
        counted = dict.fromkeys(missing, 0)
        if words:
            marks = ",".join("?" * len(words))
            for word, hits in db.execute(f"SELECT term, doc FROM {table}_v WHERE term IN ({marks})", words):
                counted[Phrase(word)] = int(hits)
        for phrase in missing:
            if phrase.prefix:
                counted[phrase] = int(db.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?",
                                                 (phrase.expression(),)).fetchone()[0])
        with self._lock:
            if generation == self._generation:
                if len(self._counts) > _MAX_CACHED:
                    self._counts = {}
                self._counts.update(((table, phrase), hits) for phrase, hits in counted.items())
        return found | counted


@dataclass(frozen=True)
class ScoredStatement:
    """A ``SELECT doc, score`` over the documents a full-text condition matches."""

    sql: str
    params: tuple[object, ...]


def phrase_statement(table: str, words: Sequence[str], slop: int, hits: dict[Phrase, int], total: int, tokens: int,
                     boost: float = 1.0) -> ScoredStatement | None:
    """The statement scoring the sloppy phrase ``words`` on ``table`` as Lucene's BM25 does: the
    phrase's frequency (``fulltext.sloppy_frequency``) weighed by the sum of its words' weights; None
    when a word is in no row."""
    if not words or any(hits.get(Phrase(word), 0) == 0 for word in words):
        return None
    weight = sum(math.log(1.0 + (total - hits[Phrase(word)] + 0.5) / (hits[Phrase(word)] + 0.5)) for word in words)
    average = tokens / total if total else 1.0
    length = "(length(body) - length(replace(body, ' ', '')) + 1)"  # the stored words are joined by one space
    expression = " AND ".join(Phrase(word).expression() for word in words)
    sql = (f"SELECT doc, ? * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * {length} / ?)) AS score FROM "
           f"(SELECT rowid AS doc, body, {SLOPPY_FUNCTION}(body, ?, ?) AS f FROM {table} WHERE {table} MATCH ?) "
           f"WHERE f > 0")
    return ScoredStatement(sql, (weight * boost, average, " ".join(words), slop, expression))


def term_scores(db: sqlite3.Connection, table: str, terms: Sequence[TermQuery | None], require_all: bool,
                total: int) -> dict[int, float]:
    """Documents matching ``terms`` on ``table`` (any, or every one with ``require_all``; ``total``
    rows) with their relevance: each phrase's ``bm25()`` times its ``lucene_factor``, summed."""
    if require_all and (not terms or any(term is None for term in terms)):
        return {}
    phrases: dict[Phrase, dict[int, float]] = {}
    for term in terms:
        for phrase in term.phrases if term is not None else ():
            if phrase not in phrases:
                rows = db.execute(f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ?",
                                  (phrase.expression(),)).fetchall()
                factor = lucene_factor(len(rows), total)  # every row holding the phrase is here
                phrases[phrase] = {doc: score * factor for doc, score in rows}
    matched = [_combined([phrases[phrase] for phrase in term.phrases], term.require_all)
               for term in terms if term is not None]
    return _combined(matched, require_all)


def _combined(parts: list[dict[int, float]], require_all: bool) -> dict[int, float]:
    """Documents in every part (``require_all``) or in any, scored by the sum of the parts they are in."""
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    if require_all:
        smallest = min(parts, key=len)
        return {doc: sum(part[doc] for part in parts) for doc in smallest if all(doc in part for part in parts)}
    result = dict(parts[0])  # as adding each score to 0.0
    for part in parts[1:]:
        found = result.get
        for doc, score in part.items():
            result[doc] = found(doc, 0.0) + score
    return result
