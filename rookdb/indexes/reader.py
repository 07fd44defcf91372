"""Answering conditions and orderings from one consistent snapshot of an index file.

Documents are numbered by the etag of the version indexed, so "document order" is the order in which
they were last written, as a collection scan returns them.
"""

from __future__ import annotations

import functools
import heapq
import operator
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rookdb.indexes import fulltext, plan
from rookdb.indexes.matching import EVERYTHING, Compiled, StoreField, compile_condition
from rookdb.indexes.relevance import DocumentFrequencies, phrase_statement, row_count, term_scores, token_count
from rookdb.indexes.values import number_of

__all__ = ["IndexReader", "SnapshotPosition"]

_IN_CHUNK = 500
_STATEMENTS = 256
"""Conditions whose ``page_at_position`` statement is kept (SQLite's own cache holds them prepared)."""
_first = operator.itemgetter(0)
_NULL_VALUE, _EMPTY_STRING = "NULL_VALUE", "EMPTY_STRING"
"""How RavenDB writes a null and an empty string as terms."""
_BODY = "LEFT JOIN store.documents AS s ON s.lower_id = d.lower_id"
"""A document's body from the attached database, by the id the index holds (``d``: its ``docs`` row)."""


def _by_number(number: str) -> tuple[str, str]:
    """The join and the body column that read a document by its number (the column ``number``), when
    the snapshot is current (see ``position``): the number is then its etag, which the database also
    gives it as row id (``rookdb.storage.sqlite_transaction``), so the row is read by row id, checked
    by etag, without the etag index. A row written before, or renumbered by a ``VACUUM``, fails the check
    and is read through the etag index instead."""
    return (f"LEFT JOIN store.documents AS s ON s.rowid = {number} AND s.etag = {number}",
            f"coalesce(s.body, (SELECT body FROM store.documents WHERE etag = {number}))")


_BODY_BY_NUMBER, _BODY_COLUMN = _by_number("p.doc")
"""The page's (``p``) documents by number."""
_WALKED_BY_NUMBER, _WALKED_BODY = _by_number("o.doc")
"""The walked documents' (``o``, see ``ordered``) by number."""
_POSITION = ("SELECT (SELECT value FROM meta WHERE key = 'checkpoint'), coalesce("
             "(SELECT value FROM meta WHERE key = 'last_indexed'), (SELECT value FROM meta WHERE key = 'created')), "
             "(SELECT value FROM meta WHERE key = 'doc_count')")
_DATABASE_ETAG = ", (SELECT value FROM store.meta WHERE key = 'last_etag')"
_POSITION_ROW = f"SELECT NULL, NULL, {_POSITION.removeprefix('SELECT ')}{_DATABASE_ETAG}"
"""The position as the first row of a page (``page_at_position``): its document number is NULL."""


@functools.lru_cache(maxsize=_STATEMENTS)
def _page_at_position(condition: str) -> str:
    """The statement of ``IndexReader.page_at_position`` around a condition's SQL (made once per condition)."""
    return (f"{_POSITION_ROW} UNION ALL SELECT p.doc, {_BODY_COLUMN}, NULL, NULL, NULL, NULL FROM "
            f"({condition} ORDER BY doc LIMIT ? OFFSET ?) AS p {_BODY_BY_NUMBER}")


@dataclass(frozen=True, slots=True)
class SnapshotPosition:
    """Where a snapshot stands: the index's checkpoint and last batch's time, and the database's last
    etag in the same read (None when the database file is not attached)."""

    checkpoint: int
    last_indexed: str
    database_etag: int | None

    @property
    def current(self) -> bool:
        """True when the snapshot has applied every change the database had (it is known only when attached)."""
        return self.database_etag is not None and self.checkpoint >= self.database_etag


class IndexReader:
    """Reads one snapshot; obtained from ``IndexStore.reader()`` and valid inside its ``with`` block
    (the transaction that holds the snapshot), or for one ``page_at_position`` (a snapshot of its own)."""

    def __init__(self, db: sqlite3.Connection, fields: Mapping[str, StoreField],
                 frequencies: DocumentFrequencies | None = None, documents_file: Path | None = None) -> None:
        """``frequencies`` caches phrase counts across the snapshots of one index file;
        ``documents_file`` is the database file attached as ``store`` (see :meth:`page`), if any."""
        self._db = db
        self.documents_file = documents_file
        self._fields = fields
        self._frequencies = frequencies if frequencies is not None else DocumentFrequencies()
        self._documents: int | None = None
        self._compiled: dict[plan.Condition, Compiled] = {}
        self._numbers_are_etags = False
        """True once ``position`` found the snapshot current: every document's number is then its etag."""

    def __enter__(self) -> IndexReader:
        """Begin the snapshot's read transaction (a reader is a context manager: every query opens one)."""
        self._db.execute("BEGIN")
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.execute("COMMIT")

    @property
    def document_count(self) -> int:
        """How many documents the index holds."""
        if self._documents is None:
            self._documents = int(self._db.execute("SELECT value FROM meta WHERE key = 'doc_count'").fetchone()[0])
        return self._documents

    @property
    def fields(self) -> Mapping[str, StoreField]:
        """The index's fields as this reader reads them (the store makes a new mapping when one changes)."""
        return self._fields

    def has_terms(self, field: str) -> bool:
        """True when ``field`` has typed terms here (``id()`` always does)."""
        return field == plan.ID_FIELD or (field in self._fields and self._fields[field].terms)

    def compile(self, condition: plan.Condition) -> Compiled:
        """``condition`` as the SQL this reader runs for it."""
        compiled = self._compiled.get(condition)
        if compiled is None:
            compiled = compile_condition(condition, self._fields, self._vocabulary)
            self._compiled[condition] = compiled
        return compiled

    def _vocabulary(self, field: int) -> fulltext.Vocabulary:
        def words(accept: Any) -> list[str]:
            return [term for (term,) in self._db.execute(f"SELECT term FROM fts_{field}_v") if accept(term)]

        return words

    def position(self) -> SnapshotPosition:
        """The snapshot's checkpoint and timestamp and, with the database attached, the database's last
        etag, read in one statement of this snapshot: what a result reports matches what it read."""
        attached = self.documents_file is not None
        row = self._db.execute(_POSITION + _DATABASE_ETAG if attached else _POSITION).fetchone()
        checkpoint = int(row[0] or 0)
        self._documents = int(row[2] or 0)
        position = SnapshotPosition(checkpoint, str(row[1]), (int(row[3] or 0) if attached else None))
        # Current: the index holds the latest version of each of its documents, numbered by its etag.
        self._numbers_are_etags = position.current
        return position

    # ---------------------------------------------------------------- matching

    def count(self, condition: plan.Condition) -> int:
        """How many documents match."""
        compiled = self.compile(condition)
        if compiled is EVERYTHING:
            return self.document_count
        return int(self._db.execute(f"SELECT count(*) FROM ({compiled.sql})", compiled.params).fetchone()[0])

    def documents(self, condition: plan.Condition, skip: int = 0, take: int | None = None) -> list[int]:
        """The matching documents in document order, ``skip``ped and cut to ``take``."""
        compiled = self.compile(condition)
        # Not wrapped: a single value's rows come in document order, so SQLite can stop at the page's end.
        sql = f"{compiled.sql} ORDER BY doc LIMIT ? OFFSET ?"
        rows = self._db.execute(sql, (*compiled.params, -1 if take is None else take, skip))
        return [row[0] for row in rows]

    def page(self, condition: plan.Condition, skip: int = 0, take: int | None = None
             ) -> list[tuple[int, bytes | None]]:
        """``documents(condition, skip, take)`` with each document's body read from the attached
        ``documents_file`` in the same statement (None for one deleted since it was indexed)."""
        compiled = self.compile(condition)
        # An integer lookup in the database's etag index, instead of the index's id and the id's lookup.
        if self._numbers_are_etags:
            column, join = _BODY_COLUMN, _BODY_BY_NUMBER
        else:
            column, join = "s.body", f"LEFT JOIN docs AS d ON d.doc = p.doc {_BODY}"
        sql = f"SELECT p.doc, {column} FROM ({compiled.sql} ORDER BY doc LIMIT ? OFFSET ?) AS p {join}"
        rows = self._db.execute(sql, (*compiled.params, -1 if take is None else take, skip)).fetchall()
        # Sorted here: in SQL the join's order is not promised, and sorting it there costs a temporary
        # B-tree per query (a quarter of the statement's time for a page of one document).
        rows.sort(key=_first)
        return rows

    def page_at_position(self, condition: plan.Condition | Compiled, skip: int = 0, take: int | None = None
                         ) -> tuple[SnapshotPosition, list[tuple[int, bytes | None]]]:
        """``position()`` and ``page(condition, skip, take)`` in one statement, outside a ``with`` block:
        a statement is its own snapshot of both files, so no transaction is begun and committed around
        them. The database file must be attached. The page's bodies are read by document number, which is
        the etag only when the position is current: a caller discards the page of a snapshot that is not.
        ``condition`` may come compiled (``compile``)."""
        compiled = condition if isinstance(condition, Compiled) else self.compile(condition)
        rows = self._db.execute(_page_at_position(compiled.sql),
                                (*compiled.params, -1 if take is None else take, skip)).fetchall()
        page: list[tuple[int, bytes | None]] = []
        head: Any = None
        for row in rows:  # the position's row comes first in practice; SQL does not promise it
            if row[0] is None:
                head = row
            else:
                page.append((row[0], row[1]))
        checkpoint = int(head[2] or 0)
        self._documents = int(head[4] or 0)
        position = SnapshotPosition(checkpoint, str(head[3]), int(head[5] or 0))
        self._numbers_are_etags = position.current
        page.sort(key=_first)
        return position, page

    def can_walk(self, key: plan.SortKey) -> bool:
        """True when ``key``'s sorted order is built (``IndexStore.ensure_sorted``), so ``ordered`` can walk it."""
        if key.field == plan.ID_FIELD:
            return key.form == "text"
        known = self._fields.get(key.field)
        return known is not None and (known.sorted_text if key.form == "text" else known.sorted_number)

    def ordered(self, condition: plan.Condition, key: plan.SortKey,
                bodies: dict[int, bytes | None] | None = None) -> Iterator[tuple[int, Any]]:
        """Matching documents in ``key``'s order, with the value they sort by (None when missing);
        ``can_walk(key)`` must be true. With ``bodies``, when the snapshot is current (see ``position``),
        the walk also reads each document's body into it (it stays empty otherwise).

        Documents with equal values come in no particular order: callers that need a tie-break sort
        each run of equal values themselves. Reading stops when the caller stops iterating.
        """
        compiled = self.compile(condition)
        filtered = compiled is not EVERYTHING
        if key.field == plan.ID_FIELD:
            column, table, where = "o.lower_id", "docs", "1"
        else:
            column, table = ("o.text" if key.form == "text" else "o.num"), "slots"
            # The field number is a literal: SQLite only uses a partial index whose condition it can prove.
            where = f"o.field = {self._field_number(key.field)}"
        joined = bodies is not None and self._numbers_are_etags
        # Joined, the page's documents come with the walk instead of in a statement of their own.
        join = f" {_WALKED_BY_NUMBER}" if joined else ""
        source = f"{table} AS o{join} WHERE {where}"
        restriction = f" AND o.doc IN ({compiled.sql})" if filtered else ""
        params = compiled.params if filtered else ()
        direction = "DESC" if key.descending else "ASC"
        body = f", {_WALKED_BODY}" if joined else ""
        values = (f"SELECT o.doc, {column}{body} FROM {source} AND {column} IS NOT NULL{restriction} "
                  f"ORDER BY {column} {direction}")
        missing = f"SELECT o.doc, NULL{body} FROM {source} AND {column} IS NULL{restriction} ORDER BY o.doc"
        segments = [missing, values] if key.missing_first else [values, missing]
        for sql in segments:
            if not joined:
                yield from self._db.execute(sql, params)
                continue
            for doc, value, found in self._db.execute(sql, params):
                bodies[doc] = found  # type: ignore[index]
                yield doc, value

    def sort_values(self, documents: Sequence[int], field: str) -> dict[int, tuple[str | None, float | None]]:
        """The first value's sort forms (lower-cased text, number) of each document (missing: both None)."""
        if field == plan.ID_FIELD:
            return {doc: (doc_id.lower(), number_of(doc_id)) for doc, doc_id in self.ids(documents).items()}
        number = self._field_number(field)
        rows = self._in(f"SELECT doc, text, num FROM slots WHERE field = {number} AND doc IN ({{}})", list(documents))
        return {doc: (text, num) for doc, text, num in rows}

    def scores(self, condition: plan.FullText) -> dict[int, float]:
        """Documents matching a full-text condition with their relevance (BM25 with Lucene's term
        weight, see ``relevance``; higher is better)."""
        known = self._fields.get(condition.field)
        if known is None or not known.search:
            return {}
        table = f"fts_{known.id}"
        found = self._db.execute(f"SELECT block FROM {table}_data WHERE id = 1").fetchone()
        averages = None if found is None else bytes(found[0])
        if condition.slop is None:
            terms = fulltext.term_queries(condition.terms, self._vocabulary(known.id))
            return term_scores(self._db, table, terms, condition.require_all, row_count(averages))
        words = [term.words[0] for term in condition.terms]
        checkpoint = self._db.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()
        phrases = [fulltext.Phrase(word) for word in words]
        hits = self._frequencies.counts(self._db, (checkpoint, averages), table, phrases)
        statement = phrase_statement(table, words, condition.slop, hits, row_count(averages), token_count(averages))
        return {} if statement is None else dict(self._db.execute(statement.sql, statement.params))

    def ranked(self, condition: plan.FullText, boost: float, skip: int, take: int | None
               ) -> tuple[list[tuple[int, float]], int]:
        """The page of a full-text condition's matches, best first (ties in document order), with
        their relevance times ``boost``; and how many documents match."""
        scores = self.scores(condition)
        keys = ((-score * boost, doc) for doc, score in scores.items())
        best = sorted(keys) if take is None else heapq.nsmallest(skip + take, keys)
        return [(doc, scores[doc] * boost) for _, doc in best[skip:]], len(scores)

    def terms(self, condition: plan.Condition, field: str) -> list[tuple[int, Any, str, str]]:
        """Every value the matching documents hold at ``field``, as the ``terms`` table keeps them:
        (document, typed key, text of a number or boolean, the string as written when lower-casing
        changed it); one row per distinct value of a document (facets count them)."""
        known = self._fields.get(field)
        if known is None or not known.terms:
            return []
        compiled = self.compile(condition)
        restriction = "" if compiled is EVERYTHING else f" AND doc IN ({compiled.sql})"
        params = () if compiled is EVERYTHING else compiled.params
        sql = f"SELECT doc, v, t, x FROM terms WHERE field = {known.id}{restriction}"
        return self._db.execute(sql, params).fetchall()

    # ---------------------------------------------------------------- documents

    def ids(self, documents: Iterable[int]) -> dict[int, str]:
        """Document numbers → ids, for the numbers still indexed."""
        return dict(self._in("SELECT doc, id FROM docs WHERE doc IN ({})", list(documents)))

    def bodies(self, documents: Iterable[int]) -> dict[int, bytes | None]:
        """Document numbers → bodies read from the attached ``documents_file``, for the numbers still
        indexed (None for a document deleted since it was indexed)."""
        if self._numbers_are_etags:
            return dict(self._in("SELECT etag, body FROM store.documents WHERE etag IN ({})", list(documents)))
        return dict(self._in(f"SELECT d.doc, s.body FROM docs AS d {_BODY} WHERE d.doc IN ({{}})", list(documents)))

    def stored(self, documents: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The values entries keep for projections (stored fields, reduce results), by document number."""
        return {doc: orjson.loads(body) for doc, body in
                self._in("SELECT doc, body FROM stored WHERE doc IN ({})", list(documents))}

    def numbers(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """Lower-cased ids → document numbers, for the ids indexed."""
        lowered = list(dict.fromkeys(doc_id.lower() for doc_id in doc_ids))
        return dict(self._in("SELECT lower_id, doc FROM docs WHERE lower_id IN ({})", lowered))

    def field_terms(self, field: str, after: str, limit: int) -> list[str]:
        """The field's distinct terms in Lucene's order (``GetTermsOperation``), those after ``after``
        first, at most ``limit``: words for a search field, else each value as RavenDB indexes it
        (strings lower-cased, numbers and booleans as text, null ``NULL_VALUE``, '' ``EMPTY_STRING``)."""
        searched = field.startswith("search(") and field.endswith(")")  # an auto-index's searchable variant
        known = self._fields.get(field[len("search("):-1] if searched else field)
        if known is None or (searched and not known.search):
            return []
        if known.search and (searched or not known.terms):
            return [term for (term,) in self._db.execute(
                f"SELECT term FROM fts_{known.id}_v WHERE term > ? ORDER BY term LIMIT ?", (after, limit))]
        found: set[str] = set()
        for value, text in self._db.execute("SELECT DISTINCT v, t FROM terms WHERE field = ?", (known.id,)):
            if isinstance(value, str):
                found.add(value or _EMPTY_STRING)
            elif isinstance(value, bytes):
                found.add(_NULL_VALUE if not value else "true" if value == b"\x01" else "false")
            else:
                found.add(text)
        # Lucene orders terms by their UTF-8 bytes
        ordered = sorted((term for term in found if term > after), key=lambda term: term.encode())
        return ordered[:limit]

    def _in(self, sql: str, values: Sequence[Any]) -> list[Any]:
        rows: list[Any] = []
        for offset in range(0, len(values), _IN_CHUNK):
            chunk = values[offset : offset + _IN_CHUNK]
            rows.extend(self._db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
        return rows

    def _field_number(self, field: str) -> int:
        known = self._fields.get(field)
        return -1 if known is None else known.id  # an unknown field has no rows: every value is missing
