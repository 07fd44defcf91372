"""One rookdb database in its own PostgreSQL schema, read and written by any number of nodes.

Etag order is commit order. Every write transaction first locks the database's ``head`` row
(``SELECT … FOR UPDATE``) and only then takes etags from it, so writers — on this node or any
other — run one after another, and a transaction that took lower etags has committed (and become
visible) before the next one can even read the head. A follower reading the change feed therefore
never sees etag N+1 while N is still to come; ``changes_since`` reads documents and tombstones in
one statement, so one snapshot. Serialized writers are what SQLite gives us too; PostgreSQL adds
that readers never wait and the writer can be any node.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg

from rookdb.errors import StorageError
from rookdb.storage.base import (
    Attachment,
    Change,
    CommitListener,
    CommittedChange,
    CompareExchangeValue,
    DocumentStorage,
    ExpiryChange,
    RecordListener,
    StorageStatistics,
    StoredDocument,
    WriteTransaction,
)
from rookdb.storage.metadata import EXPIRES_MARKER, AttachmentRow
from rookdb.storage.postgresql._connections import Connection, Pool, begin_locked, finish, run
from rookdb.storage.postgresql._failures import storage_failure
from rookdb.storage.postgresql._feed import FeedListener
from rookdb.storage.rows import (
    DOCUMENT_COLUMNS,
    DocumentRow,
    RowWriteTransaction,
    in_etag_order,
    notify_listeners,
    prefix_bounds,
    row_to_document,
)
from rookdb.wire import EXPIRES

__all__ = ["PostgresStorage"]

_EXPIRES_PATH = ["@metadata", EXPIRES]

_PAGE = 1024


class _PostgresWriteTransaction(RowWriteTransaction):
    def __init__(self, storage: PostgresStorage, connection: Connection, last_etag: int) -> None:
        super().__init__(storage.database_id, last_etag, track_commits=bool(storage._listeners))
        self._s = storage.schema
        self._notify = f"NOTIFY {storage.channel}, '{storage.schema}'"
        self._db = connection
        self.first_etag = last_etag + 1
        self.last_etag = last_etag
        self.record_etag: int | None = None

    def _save_last_etag(self, etag: int) -> None:
        # Both statements in one round trip (no parameters: the simple protocol takes several).
        self._db.execute(f"UPDATE {self._s}.head SET last_etag = {int(etag)}; {self._notify}")
        self.last_etag = etag

    def get(self, doc_id: str) -> StoredDocument | None:
        row = self._db.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM {self._s}.documents WHERE lower_id = %s", (doc_id.lower(),)
        ).fetchone()
        return row_to_document(row) if row else None

    def existing(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        lowered = list(dict.fromkeys(doc_id.lower() for doc_id in doc_ids))
        rows = self._db.execute(
            f"SELECT lower_id, id, collection FROM {self._s}.documents WHERE lower_id = ANY(%s)", (lowered,))
        return {lower_id: (doc_id, collection) for lower_id, doc_id, collection in rows}

    def _stored_id_and_attachments(self, lower_id: str) -> tuple[str | None, list[AttachmentRow]]:
        # One round trip for both: a put costs two (this and the write).
        rows = self._db.execute(
            f"SELECT d.id, a.name, a.hash, a.content_type, a.size FROM (SELECT %s::text COLLATE \"C\" AS key) k "
            f"LEFT JOIN {self._s}.documents d ON d.lower_id = k.key "
            f"LEFT JOIN {self._s}.attachments a ON a.lower_doc_id = k.key ORDER BY a.name",
            (lower_id,)).fetchall()
        return rows[0][0], [(name, digest, kind, size) for _, name, digest, kind, size in rows if name is not None]

    def _store_row(self, row: DocumentRow, *, replace: bool) -> None:
        self._db.execute(
            f"WITH revived AS (DELETE FROM {self._s}.tombstones WHERE lower_id = %s) "
            f"INSERT INTO {self._s}.documents VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (lower_id) DO UPDATE SET id = EXCLUDED.id, collection = EXCLUDED.collection, "
            "lower_collection = EXCLUDED.lower_collection, etag = EXCLUDED.etag, "
            "change_vector = EXCLUDED.change_vector, last_modified = EXCLUDED.last_modified, body = EXCLUDED.body",
            (row[0], *row))

    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        lowered = [doc_id.lower() for doc_id in doc_ids]
        rows = self._db.execute(
            f"SELECT lower_id, {DOCUMENT_COLUMNS} FROM {self._s}.documents WHERE lower_id = ANY(%s)",
            (list(dict.fromkeys(lowered)),))
        found = {row[0]: row_to_document(row[1:]) for row in rows}
        return [found.get(lower_id) for lower_id in lowered]

    def _attachments_of(self, lower_ids: Sequence[str]) -> dict[str, list[AttachmentRow]]:
        found: dict[str, list[AttachmentRow]] = {}
        for lower_id, name, digest, kind, size in self._db.execute(
                f"SELECT lower_doc_id, name, hash, content_type, size FROM {self._s}.attachments "
                "WHERE lower_doc_id = ANY(%s) ORDER BY lower_doc_id, name", (list(lower_ids),)):
            found.setdefault(lower_id, []).append((name, digest, kind, int(size)))
        return found

    def _replace_rows(self, rows: list[DocumentRow]) -> None:
        self._db.cursor().executemany(
            f"UPDATE {self._s}.documents SET id = %s, collection = %s, lower_collection = %s, etag = %s, "
            "change_vector = %s, last_modified = %s, body = %s WHERE lower_id = %s",
            [(*row[1:], row[0]) for row in rows])

    def _insert_rows(self, rows: list[DocumentRow]) -> None:
        with self._db.cursor().copy(
                f"COPY {self._s}.documents (lower_id, id, collection, lower_collection, etag, change_vector, "
                "last_modified, body) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if self._db.execute(f"SELECT 1 FROM {self._s}.tombstones LIMIT 1").fetchone():
            self._db.execute(f"DELETE FROM {self._s}.tombstones WHERE lower_id = ANY(%s)", ([r[0] for r in rows],))

    def _delete_row(self, lower_id: str) -> list[str]:
        self._db.execute(f"DELETE FROM {self._s}.documents WHERE lower_id = %s", (lower_id,))
        return [row[0] for row in self._db.execute(
            f"DELETE FROM {self._s}.attachments WHERE lower_doc_id = %s RETURNING hash", (lower_id,))]

    def _put_tombstone(self, lower_id: str, doc_id: str, collection: str, etag: int) -> None:
        self._db.execute(
            f"INSERT INTO {self._s}.tombstones VALUES (%s, %s, %s, %s, %s) ON CONFLICT (lower_id) DO UPDATE "
            "SET id = EXCLUDED.id, collection = EXCLUDED.collection, "
            "lower_collection = EXCLUDED.lower_collection, etag = EXCLUDED.etag",
            (lower_id, doc_id, collection, collection.lower(), etag))

    def _attachment_row(self, lower_id: str, name: str) -> tuple[str, str, int] | None:
        row = self._db.execute(
            f"SELECT hash, content_type, size FROM {self._s}.attachments WHERE lower_doc_id = %s AND name = %s",
            (lower_id, name)).fetchone()
        return (row[0], row[1], int(row[2])) if row else None

    def _store_contents(self, contents: Sequence[tuple[str, bytes]]) -> None:
        self._db.execute(
            f"INSERT INTO {self._s}.attachment_contents SELECT * FROM unnest(%s::text[], %s::bytea[]) "
            "ON CONFLICT (hash) DO NOTHING", ([digest for digest, _ in contents], [content for _, content in contents]))

    def _link_attachments(self, rows: Sequence[tuple[str, str, str, str, int]]) -> None:
        self._db.execute(
            f"INSERT INTO {self._s}.attachments SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::bigint[]) ON CONFLICT (lower_doc_id, name) DO UPDATE SET hash = EXCLUDED.hash, "
            "content_type = EXCLUDED.content_type, size = EXCLUDED.size",
            tuple(list(column) for column in zip(*rows, strict=True)))

    def _delete_attachment_rows(self, keys: Sequence[tuple[str, str]]) -> list[str]:
        return [row[0] for row in self._db.execute(
            f"DELETE FROM {self._s}.attachments a USING unnest(%s::text[], %s::text[]) AS k(lower_doc_id, name) "
            "WHERE a.lower_doc_id = k.lower_doc_id AND a.name = k.name RETURNING a.hash",
            ([lower_id for lower_id, _ in keys], [name for _, name in keys]))]

    def _drop_unreferenced_contents(self, digests: Sequence[str]) -> None:
        self._db.execute(
            f"DELETE FROM {self._s}.attachment_contents c WHERE c.hash = ANY(%s) AND NOT EXISTS "
            f"(SELECT 1 FROM {self._s}.attachments a WHERE a.hash = c.hash)", (list(digests),))

    def next_identity(self, name: str) -> int:
        row = self._db.execute(
            f"INSERT INTO {self._s}.identities VALUES (%s, 1) ON CONFLICT (name) DO UPDATE "
            f"SET value = {self._s}.identities.value + 1 RETURNING value", (name.lower(),)).fetchone()
        assert row is not None
        return int(row[0])

    def seed_identity(self, name: str, value: int, force: bool) -> int:
        update = "EXCLUDED.value" if force else f"greatest({self._s}.identities.value, EXCLUDED.value)"
        row = self._db.execute(
            f"INSERT INTO {self._s}.identities VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = {update} "
            "RETURNING value", (name.lower(), value)).fetchone()
        assert row is not None
        return int(row[0])

    def _next_compare_exchange_index(self) -> int:
        row = self._db.execute(
            f"UPDATE {self._s}.head SET compare_exchange_index = compare_exchange_index + 1 "
            "RETURNING compare_exchange_index").fetchone()
        assert row is not None
        return int(row[0])

    def get_compare_exchange(self, key: str) -> CompareExchangeValue | None:
        row = self._db.execute(
            f"SELECT key, idx, value FROM {self._s}.compare_exchange WHERE lower_key = %s", (key.lower(),)).fetchone()
        return CompareExchangeValue(row[0], int(row[1]), bytes(row[2])) if row else None

    def put_compare_exchange(self, key: str, value: Any) -> CompareExchangeValue:
        index = self._next_compare_exchange_index()
        encoded = orjson.dumps(value)
        row = self._db.execute(
            f"WITH revived AS (DELETE FROM {self._s}.compare_exchange_tombstones WHERE lower_key = %s) "
            f"INSERT INTO {self._s}.compare_exchange VALUES (%s, %s, %s, %s) ON CONFLICT (lower_key) DO UPDATE "
            "SET idx = EXCLUDED.idx, value = EXCLUDED.value RETURNING key",
            (key.lower(), key.lower(), key, index, encoded)).fetchone()
        assert row is not None
        return CompareExchangeValue(row[0], index, encoded)

    def delete_compare_exchange(self, key: str) -> int | None:
        deleted = self._db.execute(
            f"DELETE FROM {self._s}.compare_exchange WHERE lower_key = %s RETURNING 1", (key.lower(),)).fetchone()
        if deleted is None:
            return None
        index = self._next_compare_exchange_index()
        self._db.execute(
            f"INSERT INTO {self._s}.compare_exchange_tombstones VALUES (%s, %s) ON CONFLICT (lower_key) "
            "DO UPDATE SET idx = EXCLUDED.idx", (key.lower(), index))
        return index

    def set_state(self, key: str, value: Any) -> None:
        self._db.execute(
            f"INSERT INTO {self._s}.state VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, orjson.dumps(value)))

    def delete_state(self, key_prefix: str) -> None:
        self._db.execute(f"DELETE FROM {self._s}.state WHERE key >= %s AND key < %s", prefix_bounds(key_prefix))

    def set_record(self, record: dict[str, Any]) -> int:
        row = self._db.execute(
            f"UPDATE {self._s}.head SET record = %s, record_etag = record_etag + 1 RETURNING record_etag",
            (orjson.dumps(record),)).fetchone()
        assert row is not None
        self._db.execute(self._notify)
        self.record_etag = int(row[0])
        return self.record_etag


class PostgresStorage(DocumentStorage):
    """A database in schema ``schema`` of a shared PostgreSQL database, over the backend's pool.

    Other nodes' writes are heard through ``feed``: it calls ``follow``, which reads the change feed
    after the last etag this storage has told its listeners about, leaving out this node's own
    writes (told at commit).
    """

    documents_file = None  # the documents live on the PostgreSQL server: indexes load them by id

    def __init__(self, pool: Pool, schema: str, name: str, feed: FeedListener | None = None,
                 channel: str = "") -> None:
        self.schema = schema
        self.name = name
        self.channel = channel
        self._pool = pool
        self._feed = feed
        # One writer per node and database: the others would only queue for the head row holding
        # pool connections that readers need. ``follow`` takes it too, so a commit and the telling
        # of it are never split by a follow.
        self._write_lock = threading.Lock()
        self._listeners: list[CommitListener] = []
        self._record_listeners: list[RecordListener] = []
        self._closed = False
        rows = self._read(f"SELECT database_id, last_etag, record_etag FROM {schema}.head")
        if not rows:
            raise StorageError(f"Database '{name}' has no head row in schema {schema}.")
        self.database_id: str = rows[0][0]
        self._told_etag = int(rows[0][1])
        """Listeners know of every write up to this etag, except this node's later writes in ``_own``."""
        self._own: list[tuple[int, int]] = []
        self._record_etag = int(rows[0][2])
        if feed is not None:
            feed.register(schema, self.follow)

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("Storage is closed.")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._check_open()
        return run(self._pool, lambda connection: connection.execute(sql, params, binary=True).fetchall(),
                   "read", self.name)

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        with self._write_lock:
            self._check_open()
            connection, head = begin_locked(self._pool, f"SELECT last_etag FROM {self.schema}.head FOR UPDATE",
                                            self.name)
            committed = False
            try:
                if head is None:
                    raise StorageError(f"Database '{self.name}' has no head row in schema {self.schema}.")
                transaction = _PostgresWriteTransaction(self, connection, int(head[0]))
                yield transaction
                transaction.finish()
                committed = True
            except psycopg.Error as error:
                raise storage_failure("write", error, self.name) from error
            finally:
                finish(self._pool, connection, commit=committed)
            self._committed(transaction)
            notify_listeners(self._listeners, transaction.committed)

    def _committed(self, transaction: _PostgresWriteTransaction) -> None:
        if transaction.record_etag is not None:
            self._record_etag = transaction.record_etag
        if transaction.last_etag < transaction.first_etag:
            return
        if self._told_etag == transaction.first_etag - 1:
            self._told_etag = transaction.last_etag  # nothing from other nodes in between
        else:
            self._own.append((transaction.first_etag, transaction.last_etag))

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def add_record_listener(self, listener: RecordListener) -> None:
        self._record_listeners.append(listener)

    def follow(self) -> None:
        """Tell the listeners of the writes other nodes committed since the last time (the feed's latest
        write of each document), and the record listeners of a record another node changed."""
        with self._write_lock:
            if self._closed:
                return
            last_etag, record_etag = self._read(f"SELECT last_etag, record_etag FROM {self.schema}.head")[0]
            record_changed = int(record_etag) != self._record_etag
            self._record_etag = int(record_etag)
            while self._told_etag < int(last_etag):
                changes = self.changes_since(self._told_etag, _PAGE)
                if not changes:
                    break
                foreign = [CommittedChange(change.etag, change.id, change.collection,
                                           change.document.change_vector if change.document else "", change.deleted)
                           for change in changes if not self._is_own(change.etag)]
                self._told_etag = changes[-1].etag
                notify_listeners(self._listeners, foreign)
            self._told_etag = max(self._told_etag, int(last_etag))
            self._own = [(low, high) for low, high in self._own if high > self._told_etag]
        if record_changed:
            for listener in list(self._record_listeners):
                listener()

    def _is_own(self, etag: int) -> bool:
        return any(low <= etag <= high for low, high in self._own)

    def get(self, doc_id: str) -> StoredDocument | None:
        rows = self._read(f"SELECT {DOCUMENT_COLUMNS} FROM {self.schema}.documents WHERE lower_id = %s",
                          (doc_id.lower(),))
        return row_to_document(rows[0]) if rows else None

    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        lowered = [doc_id.lower() for doc_id in doc_ids]
        rows = self._read(
            f"SELECT lower_id, {DOCUMENT_COLUMNS} FROM {self.schema}.documents WHERE lower_id = ANY(%s)",
            (list(dict.fromkeys(lowered)),))
        found = {row[0]: row_to_document(row[1:]) for row in rows}
        return [found.get(doc_id) for doc_id in lowered]

    def iter_collection(self, collection: str | None) -> Iterator[StoredDocument]:
        where = "" if collection is None else "lower_collection = %s AND "

        def page(after: int) -> list[Any]:
            params = (after, _PAGE) if collection is None else (collection.lower(), after, _PAGE)
            return self._read(
                f"SELECT {DOCUMENT_COLUMNS} FROM {self.schema}.documents WHERE {where}etag > %s ORDER BY etag LIMIT %s",
                params)

        return in_etag_order(page, _PAGE)

    def list_by_prefix(
        self, prefix: str, start: int, page_size: int, start_after: str | None = None
    ) -> list[StoredDocument]:
        low, high = prefix_bounds(prefix.lower())
        after = (start_after or "").lower()
        rows = self._read(
            f"SELECT {DOCUMENT_COLUMNS} FROM {self.schema}.documents WHERE lower_id >= %s AND lower_id < %s "
            "AND lower_id > %s ORDER BY lower_id LIMIT %s OFFSET %s",
            (low, high, after, page_size, start))
        return [row_to_document(row) for row in rows]

    def list_recent(self, collection: str | None, start: int, page_size: int) -> list[StoredDocument]:
        where = "" if collection is None else "WHERE lower_collection = %s "
        params = (page_size, start) if collection is None else (collection.lower(), page_size, start)
        rows = self._read(
            f"SELECT {DOCUMENT_COLUMNS} FROM {self.schema}.documents {where}ORDER BY etag DESC LIMIT %s OFFSET %s",
            params)
        return [row_to_document(row) for row in rows]

    def collection_counts(self) -> dict[str, int]:
        rows = self._read(
            f"SELECT min(collection), count(*) FROM {self.schema}.documents GROUP BY lower_collection "
            "ORDER BY min(collection) COLLATE \"C\"")
        return {name: count for name, count in rows}

    def count(self, collection: str | None = None, *, after: int = 0) -> int:
        conditions = (["lower_collection = %s"] if collection is not None else []) + (["etag > %s"] if after else [])
        params = ([collection.lower()] if collection is not None else []) + ([after] if after else [])
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return int(self._read(f"SELECT count(*) FROM {self.schema}.documents{where}", tuple(params))[0][0])

    def changes_since(self, etag: int, limit: int, collection: str | None = None) -> list[Change]:
        where = "etag > %s" + (" AND lower_collection = %s" if collection is not None else "")
        params: tuple[Any, ...] = (etag, collection.lower()) if collection is not None else (etag,)
        # One statement, one snapshot: a put and the delete after it are seen together or not at all.
        rows = self._read(
            f"(SELECT {DOCUMENT_COLUMNS} FROM {self.schema}.documents WHERE {where} ORDER BY etag LIMIT %s) "
            "UNION ALL "
            f"(SELECT id, collection, etag, NULL, NULL, NULL FROM {self.schema}.tombstones WHERE {where} "
            "ORDER BY etag LIMIT %s) ORDER BY etag LIMIT %s",
            (*params, limit, *params, limit, limit))
        return [Change(row[2], row[0], row[1], row_to_document(row) if row[5] is not None else None)
                for row in rows]

    def expiries_since(self, etag: int, limit: int) -> list[ExpiryChange]:
        # The server reads each @expires: bodies without the marker are never parsed, and none reach Python.
        # PostgreSQL's JSON functions refuse the escape of U+0000 anywhere in a body; it becomes that of
        # U+0001, which only an @expires holding it would see (and no timestamp does).
        rows = self._read(
            "(SELECT id, etag, CASE WHEN position(%s IN body) > 0 THEN ("
            "SELECT CASE WHEN json_typeof(parsed #> %s) = 'string' THEN parsed #>> %s END "
            "FROM (SELECT replace(convert_from(body, 'UTF8'), %s, %s)::json AS parsed) AS one) END "
            f"FROM {self.schema}.documents WHERE etag > %s ORDER BY etag LIMIT %s) "
            "UNION ALL "
            f"(SELECT id, etag, NULL FROM {self.schema}.tombstones WHERE etag > %s ORDER BY etag LIMIT %s) "
            "ORDER BY etag LIMIT %s",
            (EXPIRES_MARKER, _EXPIRES_PATH, _EXPIRES_PATH, "\\u0000", "\\u0001", etag, limit, etag, limit, limit))
        return [ExpiryChange(row[1], row[0], row[2]) for row in rows]

    def last_etag(self) -> int:
        return int(self._read(f"SELECT last_etag FROM {self.schema}.head")[0][0])

    def attachments(self, doc_id: str) -> list[Attachment]:
        rows = self._read(
            f"SELECT name, hash, content_type, size FROM {self.schema}.attachments WHERE lower_doc_id = %s "
            "ORDER BY name", (doc_id.lower(),))
        return [Attachment(doc_id, name, digest, content_type, size) for name, digest, content_type, size in rows]

    def attachment_content(self, doc_id: str, name: str) -> tuple[Attachment, bytes] | None:
        rows = self._read(
            f"SELECT a.hash, a.content_type, a.size, c.content FROM {self.schema}.attachments a "
            f"JOIN {self.schema}.attachment_contents c ON c.hash = a.hash WHERE a.lower_doc_id = %s AND a.name = %s",
            (doc_id.lower(), name))
        if not rows:
            return None
        digest, content_type, size, content = rows[0]
        return Attachment(doc_id, name, digest, content_type, size), bytes(content)

    def identities(self) -> dict[str, int]:
        rows = self._read(f"SELECT name, value FROM {self.schema}.identities ORDER BY name")
        return {name: int(value) for name, value in rows}

    def compare_exchange(self, keys: Sequence[str]) -> list[CompareExchangeValue | None]:
        lowered = [key.lower() for key in keys]
        rows = self._read(f"SELECT lower_key, key, idx, value FROM {self.schema}.compare_exchange "
                          "WHERE lower_key = ANY(%s)", (list(dict.fromkeys(lowered)),))
        found = {row[0]: CompareExchangeValue(row[1], int(row[2]), bytes(row[3])) for row in rows}
        return [found.get(key) for key in lowered]

    def compare_exchange_by_prefix(self, prefix: str, start: int, page_size: int) -> list[CompareExchangeValue]:
        low, high = prefix_bounds(prefix.lower())
        rows = self._read(
            f"SELECT key, idx, value FROM {self.schema}.compare_exchange WHERE lower_key >= %s AND lower_key < %s "
            "ORDER BY lower_key LIMIT %s OFFSET %s", (low, high, page_size, start))
        return [CompareExchangeValue(key, int(index), bytes(value)) for key, index, value in rows]

    def statistics(self) -> StorageStatistics:
        s = self.schema
        counts = self._read(
            f"SELECT (SELECT count(*) FROM {s}.documents), (SELECT count(*) FROM {s}.tombstones), "
            f"(SELECT count(*) FROM {s}.attachments), (SELECT count(*) FROM {s}.attachment_contents), "
            f"(SELECT count(*) FROM {s}.identities), (SELECT count(*) FROM {s}.compare_exchange), "
            f"(SELECT count(*) FROM {s}.compare_exchange_tombstones)")[0]
        documents, tombstones, attachments, unique, identities, values, value_tombstones = (int(c) for c in counts)
        return StorageStatistics(documents, tombstones, attachments, unique, identities, values, value_tombstones,
                                 self._size_on_disk())

    def _size_on_disk(self) -> int:
        rows = self._read(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (self.schema,))
        return int(rows[0][0])

    def compact(self) -> tuple[int, int]:
        """``VACUUM`` the database's tables: PostgreSQL reuses the space (its own tooling gives it back to
        the file system, which a database shared by live nodes should not lock for)."""
        before = self._size_on_disk()
        tables = [row[0] for row in self._read(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", (self.schema,))]

        def vacuum(connection: Connection) -> None:
            for table in tables:
                connection.execute(f"VACUUM {self.schema}.{table}")

        self._check_open()
        run(self._pool, vacuum, "compact", self.name)
        return before, self._size_on_disk()

    def get_state(self, key: str) -> Any:
        rows = self._read(f"SELECT value FROM {self.schema}.state WHERE key = %s", (key,))
        return orjson.loads(rows[0][0]) if rows else None

    def states(self, key_prefix: str) -> dict[str, Any]:
        rows = self._read(f"SELECT key, value FROM {self.schema}.state WHERE key >= %s AND key < %s",
                          prefix_bounds(key_prefix))
        return {key: orjson.loads(value) for key, value in rows}

    def get_record(self) -> tuple[dict[str, Any], int]:
        record, record_etag = self._read(f"SELECT record, record_etag FROM {self.schema}.head")[0]
        return (orjson.loads(record) if record is not None else {}), int(record_etag)

    def record_etag(self) -> int:
        return int(self._read(f"SELECT record_etag FROM {self.schema}.head")[0][0])

    def integrity_check(self) -> list[str]:
        s = self.schema
        orphans = self._read(
            f"SELECT hash FROM {s}.attachment_contents c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {s}.attachments a WHERE a.hash = c.hash)")
        problems = [f"attachment content {row[0]} is referenced by no document" for row in orphans]
        missing = self._read(
            f"SELECT lower_doc_id, name FROM {s}.attachments a WHERE NOT EXISTS "
            f"(SELECT 1 FROM {s}.attachment_contents c WHERE c.hash = a.hash)")
        problems += [f"attachment {name} of {doc} has no content" for doc, name in missing]
        dangling = self._read(
            f"SELECT DISTINCT lower_doc_id FROM {s}.attachments a WHERE NOT EXISTS "
            f"(SELECT 1 FROM {s}.documents d WHERE d.lower_id = a.lower_doc_id)")
        problems += [f"attachments of missing document {row[0]}" for row in dangling]
        ahead = self._read(
            f"SELECT greatest((SELECT max(etag) FROM {s}.documents), (SELECT max(etag) FROM {s}.tombstones)) "
            f"FROM {s}.head WHERE greatest((SELECT max(etag) FROM {s}.documents), "
            f"(SELECT max(etag) FROM {s}.tombstones)) > last_etag")
        problems += [f"etag {row[0]} is past the change feed's head" for row in ahead]
        return problems

    def close(self) -> None:
        """The pool belongs to the backend; a closed storage only refuses further use."""
        with self._write_lock:
            self._closed = True
        if self._feed is not None:
            self._feed.unregister(self.schema)
