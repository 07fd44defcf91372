"""Patch by query inside the storage (``field_edits`` + ``edit_fields``) against the general path: the
same documents, byte for byte, the same etags in the same order, the same notifications."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from rookdb.documents.database import Database
from rookdb.documents.patching.by_query import patch_batch
from rookdb.documents.patching.engine import PatchEngine
from rookdb.documents.patching.field_edits import field_edits
from rookdb.documents.patching.patcher import Patcher
from rookdb.documents.patching.request import PatchRequest
from rookdb.settings import Settings
from rookdb.storage.base import CommittedChange, FieldEdit, StoredDocument
from rookdb.storage.sqlite import SqliteStorage

PRODUCTS = [
    {"Name": "plain", "Price": 7.5, "Stock": 3, "Discontinued": False},
    {"Name": "integral float", "Price": 3.0, "Discontinued": False},
    {"Name": "nested floats", "Sizes": [1.0, 2.5, {"Width": 4.0}], "Box": {"Depth": 10.0}},
    {"Name": "already set", "Discontinued": True, "Stock": 0},
    {"Name": "one is not true", "Discontinued": 1, "Stock": 1.5},
    {"Name": "escapes \"quoted\" \\ \n \u0001 \u2028 é 😀", "Discontinued": None},
    {"Name": "odd keys", "a.b": 1, "with space": "x", "é": "y", "Discontinued": "yes", "Address": {"City": "Oslo"}},
    {"Name": "exponent", "Tiny": 1.5e-7, "Discontinued": False},
]
"""Documents the storage patches itself (with the scripts below)."""

GENERAL: dict[str, dict[str, Any]] = {
    "big integer": {"Name": "big integer", "Id": 2 ** 60 + 1},
    "big integral float": {"Name": "big integral float", "Far": 1e16},
    "integer-like key": {"Name": "integer-like key", "Map": {"b": 1, "10": 2}},
    "quote in a key with a float": {"Name": "quote", 'a"b': 2.0},
    "server key in metadata": {"Name": "flagged", "@metadata": {"@collection": "Products", "@counters": ["Likes"]}},
}
"""Documents that make a batch take the general path, by what is special about them."""


def _open(directory: Path) -> Database:
    return Database("Shop", SqliteStorage(directory / "db.sqlite3"), directory, Settings(environ={}))


def _seed(directory: Path, extra: Sequence[dict[str, Any]] = ()) -> list[str]:
    database = _open(directory)
    ids = []
    for number, product in enumerate([*PRODUCTS, *extra]):
        body = orjson.loads(orjson.dumps(product))
        body.setdefault("@metadata", {"@collection": "Products", "Raven-Python-Type": "shop.Product"})
        with database.storage.write() as tx:  # as stored, server-owned metadata kept (older writers did)
            ids.append(tx.put(f"products/{number}-A", "Products", body).id)
    database.put("users/1", {"Name": "not listed", "@metadata": {"@collection": "Users"}})
    database.close()
    return ids


def _copy(source: Path, target: Path) -> Path:
    """The same database (same id, same etags) in another folder."""
    shutil.copytree(source, target)
    return target


def _normalized(document: StoredDocument) -> tuple[str, int, str, bytes]:
    """A document with its timestamp taken out (each transaction stamps its own time)."""
    body = orjson.loads(document.body)
    assert body["@metadata"]["@last-modified"] == document.last_modified
    assert body["@metadata"]["@change-vector"] == document.change_vector
    return document.id, document.etag, document.change_vector, document.body.replace(
        document.last_modified.encode(), b"<time>")


def _run(directory: Path, engine: PatchEngine, request: PatchRequest, ids: Sequence[str],
         edits: Sequence[FieldEdit] | None, statements: list[str] | None = None) -> dict[str, Any]:
    """The batch patched: what is stored and heard afterwards (``statements``: gets the SQL run)."""
    database = _open(directory)
    heard: list[CommittedChange] = []
    database.storage.add_commit_listener(heard.extend)
    if statements is not None:
        assert isinstance(database.storage, SqliteStorage)
        database.storage._writer.set_trace_callback(statements.append)
    written = patch_batch(Patcher(database, engine), request, ids, edits)
    outcome = {
        "written": written,
        "documents": [_normalized(document) for document in database.storage.iter_collection(None)],
        "heard": heard,
        "last etag": database.storage.last_etag(),
        "collections": database.storage.collection_counts(),
        "statistics": database.storage.statistics().documents,
    }
    database.close()
    return outcome


def _both(tmp_path: Path, engine: PatchEngine, script: str, values: dict[str, Any] | None = None,
          only: Sequence[int] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the storage's result, the general path's) for the script on the products (``only``: these)."""
    ids = _seed(tmp_path / "seed")
    if only is not None:
        ids = [ids[index] for index in only]
    request = PatchRequest(script, values or {})
    edits = field_edits(request)
    assert edits is not None, script
    assert _edited_inside(tmp_path / "seed", request, ids) is not None  # not handed to the general path
    inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, ids, edits)
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids, None)
    return inside, general


def _edited_inside(directory: Path, request: PatchRequest, ids: Sequence[str]) -> int | None:
    """What ``edit_fields`` answers, in a transaction rolled back afterwards."""
    database = _open(directory)
    edits = field_edits(request)
    assert edits is not None
    answer: list[int | None] = []

    class _Rollback(Exception):
        pass

    try:
        with database.storage.write() as tx:
            answer.append(tx.edit_fields([doc_id.lower() for doc_id in ids], edits))
            raise _Rollback
    except _Rollback:
        pass
    finally:
        database.close()
    return answer[0]


SCRIPTS = [
    ("this.Discontinued = true;", None, None),
    ("this.Discontinued = $flag; this.Tag = $tag", {"flag": True, "tag": "sale \"now\" 😀"}, None),
    ("this.Stock += 5; this.Name = 'renamed'", None, [0, 3]),
    ("this.Stock -= args.by;", {"by": 2}, [0, 3]),
    ("this.Stock += 0;", None, [0, 3]),
    ("delete this.Discontinued; this.Price = 9.25;", None, None),
    ("this.Price = 7.5;", None, None),
    ("this.Price = 3;", None, None),
    ("this.Rating = null; this.Count = 12; this.Ratio = 0.1", None, None),
    ("this.Box.Depth = 11; this.Box.Label = 'x'", None, [2]),
    ("this.Box.Depth = 10", None, [2]),
    ("this.Address.City = 'Bergen'", None, [6]),
    ("this['with space'] = 'changed'; this['a.b'] = 2", None, None),
    ("var p = this; p.Discontinued = false;", None, None),
]


@pytest.mark.parametrize(("script", "values", "only"), SCRIPTS)
def test_the_storage_writes_what_the_general_path_writes(tmp_path: Path, engine: PatchEngine, script: str,
                                                        values: dict[str, Any] | None, only: list[int] | None
                                                        ) -> None:
    inside, general = _both(tmp_path, engine, script, values, only)
    assert inside == general


def test_documents_patched_inside_the_storage_keep_their_untouched_bytes(tmp_path: Path,
                                                                         engine: PatchEngine) -> None:
    inside, general = _both(tmp_path, engine, "this.Discontinued = true;")
    assert inside == general
    bodies = {doc_id: body for doc_id, _, _, body in inside["documents"]}
    assert b'"Price":3,' in bodies["products/1-A"]  # 3.0 comes back from JavaScript as 3
    assert b'"Sizes":[1,2.5,{"Width":4}],"Box":{"Depth":10}' in bodies["products/2-A"]
    assert b'"Discontinued":true' in bodies["products/4-A"]  # 1 was not true: patched
    assert b'"Tiny":1.5e-7' in bodies["products/7-A"]
    # The document already true is not written: the etags of the others follow in list order.
    written = [(doc_id, etag) for doc_id, etag, _, _ in inside["documents"] if doc_id.startswith("products/")]
    assert [doc_id for doc_id, _ in written] == [f"products/{n}-A" for n in (3, 0, 1, 2, 4, 5, 6, 7)]
    assert inside["written"] == 7 and [change.id for change in inside["heard"]] == [
        f"products/{n}-A" for n in (0, 1, 2, 4, 5, 6, 7)]


def test_the_storage_patches_the_list_in_its_order(tmp_path: Path, engine: PatchEngine) -> None:
    ids = _seed(tmp_path / "seed")
    order = list(reversed(ids))
    request = PatchRequest("this.Checked = true;")
    inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, order, field_edits(request))
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, order, None)
    assert inside == general
    assert [change.id for change in inside["heard"]] == order


@pytest.mark.parametrize("case", sorted(GENERAL))
def test_a_document_javascript_would_change_sends_the_batch_to_the_general_path(
        tmp_path: Path, engine: PatchEngine, case: str) -> None:
    ids = _seed(tmp_path / "seed", [GENERAL[case]])
    request = PatchRequest("this.Discontinued = true;")
    assert _edited_inside(tmp_path / "seed", request, ids[:-1]) == len(PRODUCTS) - 1
    assert _edited_inside(tmp_path / "seed", request, ids) is None
    inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, ids, field_edits(request))
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids, None)
    assert inside == general


@pytest.mark.parametrize(("script", "document"), [
    ("this.Address.City = 'x'", {"Name": "no address"}),
    ("this.Address.City = 'x'", {"Name": "address is text", "Address": "Oslo"}),
    ("this.Stock += 1", {"Name": "fractional stock", "Stock": 1.5}),
    ("this.Stock += 1", {"Name": "text stock", "Stock": "1"}),
    ("this.Stock += 1", {"Name": "at the edge", "Stock": 2 ** 53}),
])
def test_a_script_the_document_does_not_fit_takes_the_general_path(tmp_path: Path, engine: PatchEngine,
                                                                   script: str, document: dict[str, Any]) -> None:
    ids = _seed(tmp_path / "seed", [document])
    request = PatchRequest(script)
    assert _edited_inside(tmp_path / "seed", request, ids[-1:]) is None
    database = _open(tmp_path / "seed")
    with database.storage.write() as tx:
        before = tx.get(ids[-1])
    database.close()
    try:
        inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, ids[-1:], field_edits(request))
    except Exception as error:  # the host's TypeError for a missing parent: the same on both paths
        with pytest.raises(type(error)):
            _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids[-1:], None)
        return
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids[-1:], None)
    assert inside == general and before is not None


def test_attachments_keep_the_general_path(tmp_path: Path, engine: PatchEngine) -> None:
    ids = _seed(tmp_path / "seed")
    database = _open(tmp_path / "seed")
    with database.storage.write() as tx:
        tx.put_attachment(ids[0], "photo.png", "image/png", b"\x89PNG")
    database.close()
    request = PatchRequest("this.Discontinued = true;")
    assert _edited_inside(tmp_path / "seed", request, ids[1:]) == len(PRODUCTS) - 2
    assert _edited_inside(tmp_path / "seed", request, ids) is None


def test_a_failing_batch_inside_the_storage_leaves_nothing(tmp_path: Path, engine: PatchEngine) -> None:
    ids = _seed(tmp_path / "seed")
    database = _open(tmp_path / "seed")
    before = [_normalized(document) for document in database.storage.iter_collection(None)]
    request = PatchRequest("this.Discontinued = true;")
    edits = field_edits(request)
    assert edits is not None
    with pytest.raises(RuntimeError), database.storage.write() as tx:
        assert tx.edit_fields([doc_id.lower() for doc_id in ids], edits) == len(PRODUCTS) - 1
        raise RuntimeError("crash before commit")
    assert [_normalized(document) for document in database.storage.iter_collection(None)] == before
    database.close()


@pytest.mark.parametrize(("script", "values", "expected"), [
    ("this.A = 1; this.B.C = 'x'; delete this.D; this.E += 2; this.F -= $n", {"n": 3}, [
        FieldEdit("set", ("A",), 1), FieldEdit("set", ("B", "C"), "x"), FieldEdit("delete", ("D",)),
        FieldEdit("add", ("E",), 2), FieldEdit("add", ("F",), -3)]),
    ("this.A = 2.0;", None, [FieldEdit("set", ("A",), 2)]),
    ("this.A = {B: 1};", None, None),
    ("this.A = [1];", None, None),
    ("this.A += 0.5;", None, None),
    ("this.A = 1; this.A = 2;", None, None),
    ("this.A = 1; this.A.B = 2;", None, None),
    ("this['@metadata']['X'] = 1;", None, None),
    ("this['10'] = 1;", None, None),
    ("this['a\"b'] = 1;", None, None),
    ("this.A = this.B;", None, None),
    ("this.A = $missing;", None, None),
])
def test_which_scripts_the_storage_can_apply(script: str, values: dict[str, Any] | None,
                                            expected: list[FieldEdit] | None) -> None:
    edits = field_edits(PatchRequest(script, values or {}))
    assert (list(edits) if edits is not None else None) == expected


def test_a_script_too_long_for_one_statement_takes_the_general_path(tmp_path: Path, engine: PatchEngine) -> None:
    ids = _seed(tmp_path / "seed")
    request = PatchRequest(" ".join(f"this.Field{number} = {number};" for number in range(70)))
    assert _edited_inside(tmp_path / "seed", request, ids) is None
    inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, ids, field_edits(request))
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids, None)
    assert inside == general and inside["written"] == len(PRODUCTS)


@pytest.mark.parametrize(("script", "values", "only"), [
    ("this.Discontinued = true;", None, [0, 1, 2, 4, 5, 6, 7]),
    ("this.Discontinued = $flag; this.Tag = $tag", {"flag": False, "tag": "sale \"now\" 😀"}, [1, 2, 3, 4]),
    ("this.Stock += 5; this.Name = 'renamed'", None, [0, 3]),
    ("delete this.Discontinued; this.Price = 9.25;", None, [0, 1, 3, 4, 5, 6, 7]),
    ("this.Box.Depth = 11; this.Box.Label = 'x'", None, [2]),
    ("this.Price = 3;", None, [0, 2]),
])
def test_a_batch_every_document_of_which_changes_is_one_statement(
        tmp_path: Path, engine: PatchEngine, script: str, values: dict[str, Any] | None, only: list[int]) -> None:
    ids = [_seed(tmp_path / "seed")[index] for index in only]
    request = PatchRequest(script, values or {})
    statements: list[str] = []
    inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, ids, field_edits(request),
                  statements)
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids, None)
    assert inside == general and inside["written"] == len(ids)
    assert not any("field_edit_rows" in statement for statement in statements)  # not classified
    assert sum(statement.startswith("UPDATE main.documents") for statement in statements) == 1


def _forget_shapes(directory: Path) -> None:
    """Make the rows look as a file from before shapes has them."""
    with sqlite3.connect(directory / "db.sqlite3") as raw:
        raw.execute("UPDATE documents SET shape = NULL")


@pytest.mark.parametrize(("script", "values", "only"), SCRIPTS)
def test_rows_without_a_shape_are_classified_with_the_same_result(
        tmp_path: Path, engine: PatchEngine, script: str, values: dict[str, Any] | None, only: list[int] | None
        ) -> None:
    ids = _seed(tmp_path / "seed")
    if only is not None:
        ids = [ids[index] for index in only]
    _forget_shapes(tmp_path / "seed")
    request = PatchRequest(script, values or {})
    statements: list[str] = []
    inside = _run(_copy(tmp_path / "seed", tmp_path / "inside"), engine, request, ids, field_edits(request),
                  statements)
    general = _run(_copy(tmp_path / "seed", tmp_path / "general"), engine, request, ids, None)
    assert inside == general
    assert any("field_edit_rows" in statement for statement in statements)
    with sqlite3.connect(tmp_path / "inside" / "db.sqlite3") as raw:  # the rows written have their shape now
        shapes = dict(raw.execute("SELECT id, shape FROM documents").fetchall())
    assert all(shapes[change.id] == "[]" for change in inside["heard"])


def test_a_failing_one_statement_batch_leaves_nothing(tmp_path: Path) -> None:
    ids = _seed(tmp_path / "seed")
    database = _open(tmp_path / "seed")
    before = [_normalized(document) for document in database.storage.iter_collection(None)]
    edits = field_edits(PatchRequest("this.Checked = true;"))
    assert edits is not None
    with pytest.raises(RuntimeError), database.storage.write() as tx:
        assert tx.edit_fields([doc_id.lower() for doc_id in ids], edits) == len(PRODUCTS)
        raise RuntimeError("crash before commit")
    assert [_normalized(document) for document in database.storage.iter_collection(None)] == before
    database.close()
