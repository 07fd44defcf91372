"""What only the SQLite backend does: upgrading older files, giving space back to the file system, keeping
each document under its etag as row id, telling whether a writer waits for its write lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from rookdb.storage.base import DocumentWrite, FieldEdit
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import leave_fifty_of_two_hundred
from tests.support.waiting import wait_for


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


def test_an_old_hilo_table_moves_to_documents_and_identities(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    SqliteStorage(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE hilo (tag TEXT PRIMARY KEY, max INTEGER NOT NULL)")
        raw.execute("INSERT INTO hilo VALUES ('products', 64), ('identity:orders', 9)")
    storage = SqliteStorage(path)
    try:
        document = storage.get("Raven/Hilo/products")
        assert document is not None and document.collection == "@hilo"
        assert orjson.loads(document.body)["Max"] == 64
        assert storage.identities() == {"orders|": 9}
        assert not storage._read("SELECT 1 FROM sqlite_master WHERE name = 'hilo'")
    finally:
        storage.close()


def test_compaction_gives_space_back(storage: SqliteStorage) -> None:
    leave_fifty_of_two_hundred(storage)
    before, after = storage.compact()
    assert after < before and storage.count() == 50


def test_every_write_keeps_a_document_under_its_etag_as_row_id_through_compaction(storage: SqliteStorage) -> None:
    # Index readers read a document by row id, checked by etag (``rookdb.indexes.reader``): each way of
    # writing a row puts it there, including rewrites of a document, which take a new etag.
    metadata = {"@metadata": {"@collection": "As"}}
    with storage.write() as tx:
        for number in range(6):
            tx.put(f"a/{number}", "As", {"N": number, **metadata})
        tx.delete("a/5")
        tx.put_many([(f"b/{number}", "As", {"N": number, **metadata}) for number in range(3)]
                    + [("a/0", "As", {"N": 10, **metadata})], {"a/0": ("a/0", "As")})
    with storage.write() as tx:
        tx.write_many([DocumentWrite("a/1", "As", {"N": 11, **metadata}), DocumentWrite("c/0", "As", metadata)])
        existing = tx.get("a/2")
        assert existing is not None
        tx.replace_many([(existing, {"N": 12, **metadata})])
        assert tx.edit_fields(["a/3", "b/1"], [FieldEdit("set", ("N",), 13)]) == 2
    rows = storage._read("SELECT id, rowid, etag FROM documents ORDER BY etag")
    assert len(rows) == 9 and [etag for _, rowid, etag in rows if rowid != etag] == []
    storage.compact()
    assert storage._read("SELECT count(*) FROM documents WHERE rowid = etag") == [(9,)]


def test_compaction_moves_rows_written_before_under_their_etag(storage: SqliteStorage) -> None:
    with storage.write() as tx:
        for number in range(20):
            tx.put(f"a/{number}", "As", {"N": number, "@metadata": {"@collection": "As"}})
    assert storage.documents_file is not None
    with sqlite3.connect(storage.documents_file) as raw:  # as SQLite numbered rows before: here each
        raw.execute("UPDATE documents SET rowid = rowid + 1000")  # at the next one's etag, the last apart
        raw.execute("UPDATE documents SET rowid = rowid - 999 WHERE etag < 20")
        raw.execute("UPDATE documents SET rowid = 100 WHERE etag = 20")
    assert storage._read("SELECT count(*) FROM documents WHERE rowid = etag") == [(0,)]
    before = storage._read("SELECT etag, id, body FROM documents ORDER BY etag")
    storage.compact()
    assert storage._read("SELECT count(*) FROM documents WHERE rowid = etag") == [(20,)]
    assert storage._read("SELECT etag, id, body FROM documents ORDER BY etag") == before


def test_a_writer_waiting_for_the_write_lock_shows(storage: SqliteStorage) -> None:
    assert not storage.writers_waiting
    written = threading.Event()

    def writer() -> None:
        with storage.write() as tx:
            tx.put("users/2", "Users", {"Name": "Bob"})
        written.set()

    with storage.write() as tx:
        tx.put("users/1", "Users", {"Name": "Ann"})
        assert not storage.writers_waiting  # the transaction's own holder is not waiting
        thread = threading.Thread(target=writer)
        thread.start()
        wait_for(lambda: storage.writers_waiting, what="the second writer waiting")
        assert not written.is_set()
    assert written.wait(10)
    thread.join(10)
    assert not storage.writers_waiting
    assert storage.get("users/2") is not None
