"""Patching documents in a transaction: statuses, missing documents, change vectors, dry runs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rookdb.documents.database import Database
from rookdb.documents.patching.engine import PatchEngine
from rookdb.documents.patching.patcher import Patcher, PatchResult
from rookdb.documents.patching.request import PatchRequest
from rookdb.errors import ConcurrencyError, ScriptError
from rookdb.storage.base import StoredDocument


@pytest.fixture
def patcher(database: Database, engine: PatchEngine) -> Patcher:
    database.put("users/1", {"Name": "Ann", "Age": 30, "@metadata": {"@collection": "Users"}})
    return Patcher(database, engine)


def body(database: Database, doc_id: str) -> dict[str, Any]:
    document = database.get(doc_id)
    assert document is not None, doc_id
    parsed: dict[str, Any] = orjson.loads(document.body)
    return parsed


def modified(result: PatchResult) -> dict[str, Any]:
    document = result.modified_document()
    assert document is not None
    return document


def stored(result: PatchResult) -> StoredDocument:
    assert result.document is not None
    return result.document


def test_patched_then_not_modified(patcher: Patcher, database: Database) -> None:
    result = patcher.patch("users/1", PatchRequest("this.Age = args.age;", {"age": 31}))
    assert result.status == "Patched" and modified(result)["Age"] == 31
    json = result.to_json()
    assert json["ChangeVector"] == stored(result).change_vector and json["Collection"] == "Users"
    again = patcher.patch("users/1", PatchRequest("this.Age = 31;"))
    assert again.status == "NotModified" and stored(again).change_vector == stored(result).change_vector



@pytest.mark.parametrize(("before", "script", "after"), [
    (True, "this.Flag = 1;", 1), (1, "this.Flag = true;", True), (0, "this.Flag = false;", False),
    ([True], "this.Flag = [1];", [1]), ({"on": False}, "this.Flag = {on: 0};", {"on": 0}),
])
def test_true_and_one_are_different_values(patcher: Patcher, database: Database, before: object, script: str,
                                           after: object) -> None:
    database.put("flags/1", {"Flag": before})
    assert patcher.patch("flags/1", PatchRequest(script)).status == "Patched"
    assert orjson.dumps(body(database, "flags/1")["Flag"]) == orjson.dumps(after)
    assert patcher.patch("flags/1", PatchRequest(script)).status == "NotModified"
def test_missing_documents(patcher: Patcher, database: Database) -> None:
    assert patcher.patch("users/2", PatchRequest("this.X = 1;")).status == "DocumentDoesNotExist"
    created = patcher.patch("users/2", PatchRequest("this.X = 1;"), patch_if_missing=PatchRequest(
        "this.Name = 'new'; this['@metadata']['@collection'] = 'Users';"))
    assert created.status == "Created" and body(database, "users/2")["Name"] == "new"
    assert stored(created).collection == "Users"


def test_change_vectors_are_checked_or_skipped(patcher: Patcher, database: Database) -> None:
    current = database.get("users/1")
    assert current is not None
    with pytest.raises(ConcurrencyError, match="non current change vector"):
        patcher.patch("users/1", PatchRequest("this.Age = 1;"), expected_change_vector="A:1-other")
    skipped = patcher.patch("users/1", PatchRequest("this.Age = 1;"), expected_change_vector="A:1-other",
                            skip_on_mismatch=True)
    assert skipped.status == "Skipped" and body(database, "users/1")["Age"] == 30
    patched = patcher.patch("users/1", PatchRequest("this.Age = 1;"), expected_change_vector=current.change_vector)
    assert patched.status == "Patched"


def test_a_failing_script_changes_nothing(patcher: Patcher, database: Database) -> None:
    before = database.storage.last_etag()
    with pytest.raises(ScriptError, match="line 2"):
        patcher.patch("users/1", PatchRequest("put('other/1', {});\nthrow new Error('no');"))
    assert database.get("other/1") is None and database.storage.last_etag() == before


def test_a_dry_run_writes_nothing(patcher: Patcher, database: Database) -> None:
    result = patcher.patch("users/1", PatchRequest("this.Age = 99; output('tried');"), test=True)
    assert result.status == "Patched" and modified(result)["Age"] == 99
    assert result.to_json(debug=True)["Debug"]["Info"] == ["tried"]
    assert body(database, "users/1")["Age"] == 30


def test_script_writes_apply_in_the_same_transaction(patcher: Patcher, database: Database) -> None:
    database.put("old/1", {"@metadata": {"@collection": "Old"}})
    patcher.patch("users/1", PatchRequest(
        "put('copies/1', {Of: id(this), '@metadata': {'@collection': 'Copies'}}); del('old/1'); this.Copied = true;"))
    assert body(database, "copies/1")["Of"] == "users/1" and database.get("old/1") is None
    assert body(database, "users/1")["Copied"] is True


def test_json_patch(patcher: Patcher, database: Database) -> None:
    result = patcher.json_patch("users/1", [{"op": "replace", "path": "/Name", "value": "Bo"}])
    assert result.status == "Patched" and body(database, "users/1")["Name"] == "Bo"
    assert patcher.json_patch("users/9", []).status == "DocumentDoesNotExist"
