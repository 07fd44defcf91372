"""One index's storage: an SQLite file beside the database holding its entries and its checkpoint.

Layout (one file per index, WAL, one writer and per-thread readers):

* ``docs``: every indexed document under its number (the etag of the version indexed, so document
  order is the collection's etag order) with its id;
* ``terms``: one row per value a terms field holds (arrays fan out), in the order of its key
  ``(field, v, doc, ...)``: ``v`` the typed key (REAL for numbers, lower-cased TEXT for strings, a
  one-byte BLOB for booleans, the empty BLOB for null), ``t`` the text of a number or boolean, ``x``
  the string as written when lower-casing changed it (both '' otherwise);
* ``slots``: one row per document and terms field: how many values it holds (NULL when the field is
  missing) and the sort forms of its first value (``text`` lower-cased, ``num``). A field's sorted
  order (a partial index per field and form) is built the first time a query orders by it;
* ``fts_<n>``: one FTS5 table per search field, keyed by document number;
* ``stored``: the values an entry keeps for projections (stored fields, reduce results), as JSON;
* ``meta``: the definition, the checkpoint, counters; ``errors``: the latest indexing errors;
* whatever tables the definition's kind keeps of its own (``IndexDefinition.schema``), and beside the
  file, in its companion folder, what it saves of its memory (``IndexDefinition.persist``: static
  vector fields' graphs); the folder is renamed and deleted with the file.

Fields are those the definition declares, plus those a static map creates while indexing
(``IndexDefinition.field_for``), added in the batch that first sees them.

A batch of changes and the checkpoint it reaches commit in one transaction, so the file is never
ahead of or behind its checkpoint; after a crash the index resumes from it.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from rookdb.errors import StorageError
from rookdb.indexes import fulltext
from rookdb.indexes.definitions import IndexDefinition, IndexEntry, StoredField, definition_from_json
from rookdb.indexes.files import remove_files
from rookdb.indexes.matching import StoreField
from rookdb.indexes.reader import IndexReader
from rookdb.indexes.relevance import DocumentFrequencies
from rookdb.indexes.sql_functions import register_functions
from rookdb.indexes.values import TimeSpanText, leaves, number_of, string_number
from rookdb.storage.base import Change, DocumentStorage
from rookdb.storage.sqlite import READER_CACHE_KIB
from rookdb.wire import format_timestamp

__all__ = [
    "DEFAULT_MAX_ERRORS",
    "FULL_TEXT_MERGE_ROWS",
    "ApplyResult",
    "IndexStore",
    "IndexingError",
    "StagedGeneration",
    "StoreField",
]

DEFAULT_MAX_ERRORS = 500
FULL_TEXT_MERGE_ROWS = 8192
"""Full-text rows written since the last merge below which ``merge_full_text`` leaves FTS5's own
incremental merging alone (it keeps a few segments per level)."""
_IN_CHUNK = 500
_DOCUMENTS_MMAP_BYTES = 0x7FFF0000
"""How much of the attached database file a reading connection maps (SQLite's default ceiling)."""
_TRUE, _FALSE = b"\x01", b"\x00"

logger = logging.getLogger("rookdb.indexing")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fields (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                                   terms INTEGER NOT NULL, search INTEGER NOT NULL,
                                   sorted_text INTEGER NOT NULL DEFAULT 0, sorted_number INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS docs (doc INTEGER PRIMARY KEY, lower_id TEXT NOT NULL UNIQUE, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terms (field INTEGER NOT NULL, v NOT NULL, doc INTEGER NOT NULL, t TEXT NOT NULL,
                                  x TEXT NOT NULL, PRIMARY KEY (field, v, doc, t, x)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_by_doc ON terms (doc);
CREATE TABLE IF NOT EXISTS slots (doc INTEGER NOT NULL, field INTEGER NOT NULL, n INTEGER, text TEXT, num REAL,
                                  PRIMARY KEY (doc, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS errors (id INTEGER PRIMARY KEY, document TEXT NOT NULL, error TEXT NOT NULL,
                                   timestamp TEXT NOT NULL, action TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stored (doc INTEGER PRIMARY KEY, body BLOB NOT NULL);
"""

_COUNTERS = ("checkpoint", "doc_count", "map_attempts", "map_successes", "map_errors", "reduce_attempts",
             "reduce_successes", "reduce_errors")


@dataclass(frozen=True)
class IndexingError:
    """A document the index could not map (RavenDB's ``IndexingError``)."""

    document: str
    error: str
    timestamp: str
    action: str = "Map"

    def to_json(self) -> dict[str, Any]:
        return {"Document": self.document, "Error": self.error, "Timestamp": self.timestamp, "Action": self.action}


class StagedGeneration(NamedTuple):
    """The embeddings task (identifier) and generation that a migration's side-by-side build reads."""

    task: str
    generation: int


@dataclass(frozen=True)
class ApplyResult:
    """What one batch did: documents mapped, and those that failed."""

    mapped: int
    failed: int


class IndexStore:
    """An index file: apply batches of changes (one writer at a time), read snapshots from any thread.

    Its owner (``Index``) makes sure nothing uses it once it is closed.
    """

    def __init__(self, path: Path, definition: IndexDefinition, writer: sqlite3.Connection) -> None:
        """Use :meth:`create` or :meth:`open`."""
        self.path = path
        self.definition = definition
        self._writer = writer
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._frequencies = DocumentFrequencies()
        self.documents_file: Path | None = None
        """The database's SQLite file (``DocumentStorage.documents_file``), attached to every reading
        connection as ``store`` so a query's page is read with its documents; set before the first read."""
        self._unmerged = 0
        """Full-text rows written or deleted since the last ``merge_full_text`` (since opening)."""
        self.fields: Mapping[str, StoreField] = {
            row[1]: StoreField(row[0], row[1], *(bool(flag) for flag in row[2:])) for row in writer.execute(
                "SELECT id, name, terms, search, sorted_text, sorted_number FROM fields ORDER BY id")}
        """The file's fields; replaced, never changed in place, so a reader keeps the ones it started with."""
        self.counters = dict.fromkeys(_COUNTERS, 0)
        for key, value in writer.execute("SELECT key, value FROM meta"):
            if key in self.counters:
                self.counters[key] = int(value)
        self.created = str(_meta(writer, "created") or format_timestamp())
        self.last_indexed = str(_meta(writer, "last_indexed") or self.created)
        self.state = str(_meta(writer, "state") or "Normal")
        self.replacement = bool(_meta(writer, "replacement"))
        """True while the file holds the side-by-side build of a redefined index (``ReplacementOf/...``)."""
        staged = _meta(writer, "staged_for")
        self.staged_for: StagedGeneration | None = None if not staged else StagedGeneration(*orjson.loads(staged))
        """Set on a side-by-side build made for an embeddings task's migration: it reads the task's new
        generation and takes the index's place when the task swaps, not when it catches up."""

    @property
    def checkpoint(self) -> int:
        """The etag of the last change applied."""
        return self.counters["checkpoint"]

    @classmethod
    def create(cls, path: Path, definition: IndexDefinition, *, replacement: bool = False,
               staged_for: StagedGeneration | None = None) -> IndexStore:
        """A new, empty index file for ``definition`` (an existing file at ``path`` is replaced);
        ``replacement`` marks the side-by-side build of a redefined index, ``staged_for`` one made for a
        task's migration."""
        remove_files(path)
        writer = _connect(path)
        try:
            # A crash before the definition commits leaves a file ``open`` refuses and the registry removes.
            writer.executescript(_SCHEMA + definition.schema())
            writer.execute("BEGIN IMMEDIATE")
            for number, field in enumerate(definition.stored_fields(), start=1):
                _create_field(writer, number, field)
            writer.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("definition", orjson.dumps(definition.to_json()).decode()), ("created", format_timestamp()),
                ("replacement", int(replacement or staged_for is not None)),
                ("staged_for", orjson.dumps(list(staged_for)).decode() if staged_for else ""),
                *((key, 0) for key in _COUNTERS)])
            writer.execute("COMMIT")
        except sqlite3.Error as error:
            writer.close()
            remove_files(path)
            raise StorageError(f"Cannot create index file {path.name}: {error}") from error
        return cls(path, definition, writer)

    @classmethod
    def open(cls, path: Path) -> IndexStore:
        """Reopen an index file; ``StorageError`` when it is unreadable or has no valid definition."""
        try:
            writer = _connect(path)
        except sqlite3.Error as error:
            raise StorageError(f"Cannot open index file {path.name}: {error}") from error
        try:
            raw = _meta(writer, "definition")
            if raw is None:
                raise StorageError(f"Index file {path.name} has no definition (its creation did not finish)")
            definition = definition_from_json(orjson.loads(str(raw)))
            if definition.schema():  # tables a later version of the kind keeps (all IF NOT EXISTS)
                writer.executescript(definition.schema())
            return cls(path, definition, writer)
        except (sqlite3.Error, ValueError, StorageError) as error:
            writer.close()
            if isinstance(error, StorageError):
                raise
            raise StorageError(f"Cannot read index file {path.name}: {error}") from error

    # ---------------------------------------------------------------- writing

    def apply(self, changes: Sequence[Change], position: int, storage: DocumentStorage | None = None) -> ApplyResult:
        """Apply ``changes`` (puts and deletes, oldest first) and move the checkpoint to ``position``,
        in one transaction. A document whose map raises is left out and recorded as an error.
        ``storage`` is the database, for definitions that read related documents."""
        with self._write_lock:
            self._check_open()
            db = self._writer
            batch = _Batch(db, storage, self.fields, self.definition)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    self.definition.index_changes(changes, batch)
                    counters, now = self._write(batch, position)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise StorageError(f"Cannot write index {self.definition.name}: {error}") from error
            self.counters = counters
            self.last_indexed = now
            if batch.new_fields:  # a new dict: readers hold the one they started with
                self.fields = {**self.fields, **{field.name: field for field in batch.new_fields}}
        return ApplyResult(batch.successes, batch.failures)

    def _write(self, rows: _Batch, position: int) -> tuple[dict[str, int], str]:
        """Write one batch's rows (inside its transaction); the new counters and timestamp."""
        db = self._writer
        for field in rows.new_fields:
            _create_field(db, field.id, StoredField(field.name, field.terms, field.search))
        removed: list[tuple[int]] = []
        if rows.removed:
            old = _select_in(db, "SELECT doc FROM docs WHERE lower_id IN ({})", list(rows.removed))
            removed = [(row[0],) for row in old]
        if removed:
            db.executemany("DELETE FROM terms WHERE doc = ?", removed)
            db.executemany("DELETE FROM slots WHERE doc = ?", removed)
            db.executemany("DELETE FROM docs WHERE doc = ?", removed)
            db.executemany("DELETE FROM stored WHERE doc = ?", removed)
            for field in self.fields.values():
                if field.search:
                    db.executemany(f"DELETE FROM fts_{field.id} WHERE rowid = ?", removed)
        db.executemany("INSERT INTO docs VALUES (?, ?, ?)", rows.docs)
        # A value repeated in one array is one row: matching looks at distinct values.
        db.executemany("INSERT OR IGNORE INTO terms VALUES (?, ?, ?, ?, ?)", rows.terms)
        db.executemany("INSERT INTO slots VALUES (?, ?, ?, ?, ?)", rows.slots)
        db.executemany("INSERT INTO stored VALUES (?, ?)", rows.stored)
        for field_id, texts in rows.texts.items():
            db.executemany(f"INSERT INTO fts_{field_id} (rowid, body) VALUES (?, ?)", texts)
            self._unmerged += len(texts) + len(removed)
        now = format_timestamp()
        if rows.errors:
            db.executemany("INSERT INTO errors (document, error, timestamp, action) VALUES (?, ?, ?, ?)",
                           [(doc_id, message, now, action) for doc_id, message, action in rows.errors])
            db.execute("DELETE FROM errors WHERE id <= (SELECT max(id) FROM errors) - ?", (DEFAULT_MAX_ERRORS,))
        counters = dict(self.counters)
        counters["checkpoint"] = position
        counters["doc_count"] += len(rows.docs) - len(removed)
        for action, prefix in (("Map", "map"), ("Reduce", "reduce")):
            failed = sum(1 for _, _, kind in rows.errors if kind == action)
            succeeded = rows.successes if action == "Map" else rows.reduce_successes
            counters[f"{prefix}_attempts"] += succeeded + failed
            counters[f"{prefix}_successes"] += succeeded
            counters[f"{prefix}_errors"] += failed
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [*counters.items(), ("last_indexed", now)])
        return counters, now

    def merge_full_text(self, minimum_rows: int = FULL_TEXT_MERGE_ROWS) -> bool:
        """Merge each search field's FTS5 segments into one when at least ``minimum_rows`` rows, and a
        quarter of the documents, were written since the last merge; True when it merged.

        Every batch commits at least one segment and FTS5 merges them only level by level (eleven were
        left after indexing 100,000 documents): each term then has a piece in every segment, and reading
        it costs a lookup per segment, so a search slowed down as the index grew. One merge after a
        large catch-up leaves one segment; a quarter of the documents between merges bounds what the
        rewrites cost over time.
        """
        with self._write_lock:
            if self._closed or self._unmerged < max(minimum_rows, self.counters["doc_count"] // 4):
                return False
            tables = [f"fts_{field.id}" for field in self.fields.values() if field.search]
            db = self._writer
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for table in tables:
                        db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise StorageError(f"Cannot merge the full-text segments of index {self.definition.name}: "
                                   f"{error}") from error
            self._unmerged = 0
            return True

    def _set_meta(self, values: dict[str, Any]) -> None:
        with self._write_lock:
            self._check_open()
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                self._writer.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
                self._writer.execute("COMMIT")
            except sqlite3.Error as error:
                self._writer.execute("ROLLBACK")
                raise StorageError(f"Cannot update index {self.definition.name}: {error}") from error

    def redefine(self, definition: IndexDefinition) -> None:
        """Keep ``definition`` instead (one with the same entries: lock mode, priority, state changed)."""
        self._set_meta({"definition": orjson.dumps(definition.to_json()).decode()})
        self.definition = definition

    def set_state(self, state: str) -> None:
        """Persist the index's state (``Normal``, ``Disabled``)."""
        self._set_meta({"state": state})
        self.state = state

    def promoted(self) -> None:
        """The side-by-side build became the index; the file is closed so that it can be renamed."""
        self._set_meta({"replacement": 0, "staged_for": ""})
        self.replacement = False
        self.staged_for = None
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()

    def ensure_sorted(self, field: str, form: str) -> None:
        """Build the sorted order of ``field`` by its ``text`` or ``number`` form, if not built yet."""
        known = self.fields.get(field)
        if known is None or not known.terms or (known.sorted_text if form == "text" else known.sorted_number):
            return
        column, flag = ("text", "sorted_text") if form == "text" else ("num", "sorted_number")
        with self._write_lock:
            self._check_open()
            db = self._writer
            try:
                db.execute("BEGIN IMMEDIATE")
                # A partial index per field: its queries name the field as a literal so SQLite can use it.
                db.execute(f"CREATE INDEX IF NOT EXISTS slots_{column}_{known.id} ON slots ({column}, doc) "
                           f"WHERE field = {known.id}")
                db.execute(f"UPDATE fields SET {flag} = 1 WHERE id = ?", (known.id,))
                db.execute("COMMIT")
            except sqlite3.Error as error:
                db.execute("ROLLBACK")
                raise StorageError(f"Cannot sort index {self.definition.name} by {field}: {error}") from error
            self.fields = {**self.fields, field: dataclasses.replace(known, sorted_text=True) if form == "text"
                           else dataclasses.replace(known, sorted_number=True)}

    # ---------------------------------------------------------------- reading

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on this thread's connection: every read inside sees one state."""
        self._check_open()
        connection = self._reader()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def reader(self) -> IndexReader:
        """An ``IndexReader`` over one snapshot of the file (and of the attached documents)."""
        self._check_open()
        return IndexReader(self._reader(), self.fields, self._frequencies, self.documents_file)

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = _connect(self.path)
            register_functions(connection)
            if self.documents_file is not None:
                connection.execute("ATTACH DATABASE ? AS store", (str(self.documents_file),))
                # A page's documents are scattered over the database file: read through SQLite's default
                # 2 MB cache, each one costs system calls once the file outgrows it (a range of 20
                # documents at 1M: 540 us of CPU for the statement, 200 us mapped with this cache).
                connection.execute(f"PRAGMA store.mmap_size = {_DOCUMENTS_MMAP_BYTES}")
                connection.execute(f"PRAGMA store.cache_size = -{READER_CACHE_KIB}")
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def errors(self) -> list[IndexingError]:
        """The latest indexing errors, oldest first."""
        with self.snapshot() as db:
            rows = db.execute("SELECT document, error, timestamp, action FROM errors ORDER BY id").fetchall()
        return [IndexingError(*row) for row in rows]

    def clear_errors(self) -> None:
        with self._write_lock:
            self._check_open()
            self._writer.execute("DELETE FROM errors")

    # ---------------------------------------------------------------- lifetime

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"Index {self.definition.name} is closed")

    def persist(self, *, older_than: float = 0.0) -> None:
        """Let the definition save what it keeps in memory (between batches), if it last did so at
        least ``older_than`` seconds ago; a failure is logged (the file stays the truth)."""
        with self._write_lock:
            if self._closed:
                return
            try:
                self.definition.persist(self._writer, older_than=older_than)
            except StorageError as error:
                logger.error("Index %s: %s", self.definition.name, error.message)

    def close(self, *, persist: bool = True) -> None:
        """Close every connection (``persist``: after :meth:`persist`); the caller makes sure nothing
        reads any more."""
        if persist:
            self.persist()
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                for connection in self._readers:
                    connection.close()
                self._readers.clear()
            self._writer.close()

    def destroy(self) -> None:
        """Close and delete the file."""
        self.close(persist=False)
        remove_files(self.path)


class _Batch:
    """The rows of one batch (an ``IndexBatch``): what the definition removes, adds and fails."""

    def __init__(self, db: sqlite3.Connection, storage: DocumentStorage | None, fields: Mapping[str, StoreField],
                 definition: IndexDefinition) -> None:
        self.db = db
        self.storage = storage
        self._fields = fields
        self._definition = definition
        self._terms_fields = [(f.name, f.id) for f in fields.values() if f.terms]
        self._search_fields = [(f.name, f.id) for f in fields.values() if f.search]
        self._unknown: set[str] = set()
        self.new_fields: list[StoreField] = []
        self.removed: dict[str, None] = {}
        self.docs: list[tuple[int, str, str]] = []
        self.terms: list[tuple[int, Any, int, str, str]] = []
        self.slots: list[tuple[int, int, int | None, str | None, float | None]] = []
        self.texts: dict[int, list[tuple[int, str]]] = {number: [] for _, number in self._search_fields}
        self.stored: list[tuple[int, bytes]] = []
        self.errors: list[tuple[str, str, str]] = []
        self.successes = 0
        self.reduce_successes = 0

    @property
    def failures(self) -> int:
        return len(self.errors)

    def remove(self, doc_id: str) -> None:
        self.removed[doc_id.lower()] = None

    def mapped(self, count: int = 1) -> None:
        self.successes += count

    def reduced(self, count: int = 1) -> None:
        self.reduce_successes += count

    def fail(self, doc_id: str, message: str, action: str = "Map") -> None:
        self.errors.append((doc_id, message, action))

    def add(self, number: int, doc_id: str, entries: list[IndexEntry],
            stored: Mapping[str, Any] | None = None) -> None:
        self.docs.append((number, doc_id.lower(), doc_id))
        for entry in entries:
            for name in entry:
                if name not in self._fields and name not in self._unknown:
                    self._discover(name)
        for name, field in self._terms_fields:
            present, values = _field_values(entries, name)
            self._add_terms(number, field, values, present)
        for name, field in self._search_fields:
            self.texts[field].append((number, fulltext.field_text(_field_values(entries, name)[1])))
        if stored:
            self.stored.append((number, orjson.dumps(stored, option=orjson.OPT_NON_STR_KEYS)))

    def _discover(self, name: str) -> None:
        """A field the map created: add it (numbered after every known one) as the definition says."""
        declared = self._definition.field_for(name)
        if declared is None:
            self._unknown.add(name)
            return
        number = max((field.id for field in (*self._fields.values(), *self.new_fields)), default=0) + 1
        field = StoreField(number, name, declared.terms, declared.search)
        self.new_fields.append(field)
        self._fields = {**self._fields, name: field}
        if field.terms:
            self._terms_fields.append((name, number))
        if field.search:
            self._search_fields.append((name, number))
            self.texts[number] = []

    def _add_terms(self, doc: int, field: int, values: list[Any], present: bool) -> None:
        terms = self.terms
        text: str | None = None
        number: float | None = None
        for position, value in enumerate(values):
            kind = type(value)
            if kind is str:
                lowered = value.lower()
                terms.append((field, lowered, doc, "", value if value != lowered else ""))
                if position == 0:
                    text, number = lowered, string_number(value)
            elif kind is bool:
                terms.append((field, _TRUE if value else _FALSE, doc, "true" if value else "false", ""))
                if position == 0:
                    text = "true" if value else "false"
            elif kind is int or kind is float:
                spelled = str(value)
                terms.append((field, float(value), doc, spelled, ""))
                if position == 0:
                    text, number = spelled.lower(), number_of(value)
            elif value is None:
                terms.append((field, b"", doc, "", ""))
            elif isinstance(value, TimeSpanText):  # its text, and its ticks for ranges and numeric order
                lowered = value.lower()
                terms.append((field, lowered, doc, "", value if value != lowered else ""))
                terms.append((field, float(value.ticks), doc, str(value), ""))
                if position == 0:
                    text, number = lowered, float(value.ticks)
        self.slots.append((doc, field, len(values) if present else None, text, number))


def _field_values(entries: list[IndexEntry], name: str) -> tuple[bool, list[Any]]:
    """Whether the entries hold the field, and its values with arrays fanned out."""
    if len(entries) == 1:
        reached = entries[0].get(name)
        if reached is None:
            return False, []
        if len(reached) == 1 and not isinstance(reached[0], list):
            return True, reached  # the common case: one scalar or object
        return True, leaves(reached)
    found = [entry[name] for entry in entries if name in entry]
    return bool(found), leaves(value for reached in found for value in reached)


def _create_field(db: sqlite3.Connection, number: int, field: StoredField) -> None:
    db.execute("INSERT INTO fields (id, name, terms, search) VALUES (?, ?, ?, ?)",
               (number, field.name, field.terms, field.search))
    if field.search:
        table = f"fts_{number}"
        db.execute(f"CREATE VIRTUAL TABLE {table} USING fts5(body, tokenize = \"{fulltext.TOKENIZER}\")")
        db.execute(f"CREATE VIRTUAL TABLE {table}_v USING fts5vocab({table}, 'row')")


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA cache_size=-16000")
    return connection


def _meta(db: sqlite3.Connection, key: str) -> Any:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # no meta table: the file was never initialised
        return None
    return row[0] if row else None


def _select_in(db: sqlite3.Connection, sql: str, values: Sequence[Any]) -> list[Any]:
    rows: list[Any] = []
    for offset in range(0, len(values), _IN_CHUNK):
        chunk = values[offset : offset + _IN_CHUNK]
        rows.extend(db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
    return rows
