"""The shape each SQLite row keeps for patches (``body_shape``) and the one-statement path it allows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from rookdb.storage.base import FieldEdit
from rookdb.storage.metadata import change_vector, stamp
from rookdb.storage.sqlite import SqliteStorage
from rookdb.storage.sqlite_field_edits import body_shape
from rookdb.wire import CHANGE_VECTOR, LAST_MODIFIED

_DATABASE = "9YAgE5KKUGiblS6D6_evUw"
_NOW = "2026-12-07T09:01:16.7784250Z"


def _stamped(body: dict[str, Any], doc_id: str = "products/1-A") -> dict[str, Any]:
    """``body`` as the server stamps it before storing it."""
    body.setdefault("@metadata", {"@collection": "Products"})
    stamp(body, doc_id, change_vector(7, _DATABASE), _NOW)
    return body


def _shape(body: dict[str, Any], doc_id: str = "products/1-A") -> str | None:
    return body_shape(_stamped(body, doc_id))


@pytest.mark.parametrize(("body", "shape"), [
    ({"Name": "plain", "Price": 7.5, "Stock": 3, "Flag": True, "Tiny": 1.5e-7}, []),
    ({"Name": "text that reads like numbers: 3.0, 1e16", "Stock": 3}, []),
    ({"Price": 3.0, "Sizes": [1.0, 2.5, {"Width": 4.0}], "é x": -0.0},
     [['$."Price"', 3], ['$."Sizes"[0]', 1], ['$."Sizes"[2]."Width"', 4], ['$."é x"', 0]]),
    ({"Id": 2 ** 60 + 1}, None),  # beyond JavaScript's exact integers
    ({"Far": 1e16}, None),
    ({"Map": {"10": 1}}, None),  # JavaScript moves integer-like keys first
    ({"List": [{"Width": 1, "7": "x"}]}, None),
    ({"Map": {"\uff11\uff10": 1, "1a": 2.5}}, []),  # not integer-like: full-width digits, a letter
    ({"Copy": {"@attachments": []}}, None),  # a server-owned key anywhere
    ({'a"b': 2.0}, None),  # no JSON path names this key
    ({"@metadata": {"@collection": "Products", "@flags": "HasAttachments"}}, None),
])
def test_a_body_has_the_shape_its_numbers_and_keys_give(body: dict[str, Any], shape: list[Any] | None) -> None:
    found = _shape(body)
    assert (orjson.loads(found) if found is not None else None) == shape


def test_a_body_whose_metadata_does_not_end_with_the_stamps_has_no_shape() -> None:
    body = _stamped({"Name": "x"})
    assert body_shape(body) == "[]"
    assert body_shape({"@metadata": body["@metadata"], "Name": "x"}) == "[]"
    assert body_shape({"Name": "x", "@metadata": {**body["@metadata"], "Raven-Python-Type": "x"}}) is None
    stamped_first = {"@id": "products/1-A", CHANGE_VECTOR: change_vector(7, _DATABASE), LAST_MODIFIED: _NOW}
    assert body_shape({"Name": "x", "@metadata": {**stamped_first, "@collection": "Products"}}) is None
    assert body_shape({"Name": "x"}) is None


def _shapes(path: Path) -> dict[str, str | None]:
    with sqlite3.connect(path) as raw:
        return dict(raw.execute("SELECT id, shape FROM documents ORDER BY etag").fetchall())


def test_every_write_keeps_the_shape_of_the_row(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = SqliteStorage(path)
    try:
        with storage.write() as tx:
            tx.put("a/1", "As", {"N": 1.0, "@metadata": {"@collection": "As"}})
            tx.put_many([("a/2", "As", {"N": 2, "@metadata": {"@collection": "As"}})], {})
        with storage.write() as tx:
            assert tx.edit_fields(["a/1", "a/2"], [FieldEdit("set", ("N",), 5)]) == 2
        with storage.write() as tx:
            tx.put_attachment("a/2", "x.txt", "text/plain", b"x")
    finally:
        storage.close()
    assert _shapes(path) == {"a/1": "[]", "a/2": None}


def test_a_file_from_before_shapes_gets_the_column_and_its_rows_are_classified(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = SqliteStorage(path)
    with storage.write() as tx:
        tx.put("a/1", "As", {"N": 1.0, "Flag": False, "@metadata": {"@collection": "As"}})
    storage.close()
    with sqlite3.connect(path) as raw:
        raw.execute("ALTER TABLE documents DROP COLUMN shape")
    storage = SqliteStorage(path)
    try:
        assert _shapes(path) == {"a/1": None}
        with storage.write() as tx:
            tx.put("a/2", "As", {"N": 2.0, "Flag": False, "@metadata": {"@collection": "As"}})
        with storage.write() as tx:
            assert tx.edit_fields(["a/1", "a/2"], [FieldEdit("set", ("Flag",), True)]) == 2
        bodies = [document.body for document in storage.iter_collection("As")]
    finally:
        storage.close()
    assert [b'"N":1,"Flag":true' in bodies[0], b'"N":2,"Flag":true' in bodies[1]] == [True, True]
    assert _shapes(path) == {"a/1": "[]", "a/2": "[]"}
