"""A session's batch: every command kind in one transaction, results aligned, all or nothing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rookdb.documents.batch import AttachmentStream, run_batch
from rookdb.documents.database import Database
from rookdb.documents.patching.engine import PatchEngine
from rookdb.documents.patching.patcher import Patcher
from rookdb.errors import BadRequestError, ConcurrencyError, NotFoundError, ScriptError


def product(name: str, collection: str = "Products") -> dict[str, Any]:
    return {"Name": name, "@metadata": {"@collection": collection}}


@pytest.fixture
def patcher(database: Database, engine: PatchEngine) -> Patcher:
    return Patcher(database, engine)


def run(patcher: Patcher, *commands: Any, streams: tuple[AttachmentStream, ...] = (),
        mode: str | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"Commands": list(commands)}
    if mode:
        body["TransactionMode"] = mode
    return run_batch(patcher.database, patcher, body, streams).results


def test_results_align_with_commands_and_a_failure_rolls_back(patcher: Patcher, database: Database) -> None:
    database.put("products/1-A", product("Chai"))
    results = run(patcher, {"Type": "PUT", "Id": "products/2-A", "Document": product("Chang")},
                  {"Type": "DELETE", "Id": "products/1-A"})
    assert [(result["Type"], result.get("@id") or result["Id"]) for result in results] == [
        ("PUT", "products/2-A"), ("DELETE", "products/1-A")]
    assert results[1]["Deleted"] is True
    with pytest.raises(BadRequestError, match="command type 'Counters' is another feature's"):
        run(patcher, {"Type": "PUT", "Id": "products/3-A", "Document": product("Lost")}, {"Type": "Counters"})
    assert database.get("products/3-A") is None


@pytest.mark.parametrize(("command", "message"), [
    ("PUT", "Commands\\[0\\] must be a JSON object"),
    ({"Type": "PUT", "Id": 5, "Document": {}}, "Commands\\[0\\].Id must be a string"),
    ({"Type": "PUT", "Id": "a", "ChangeVector": 1, "Document": {}}, "ChangeVector must be a string"),
    ({"Type": "PUT", "Id": "a"}, "\\(PUT\\) has no Document"),
    ({"Type": "DELETE"}, "Commands\\[0\\].Id must be a non-empty string"),
    ({"Type": "PATCH", "Id": "a"}, "Commands\\[0\\].Patch is required"),
    ({"Type": "CompareExchangePUT", "Id": "k", "Document": {"Object": 1}, "Index": 0}, "need TransactionMode"),
])
def test_malformed_commands_are_refused(patcher: Patcher, command: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        run(patcher, command)


def test_patches_in_a_batch(patcher: Patcher, database: Database) -> None:
    database.put("products/1-A", {**product("Chai"), "Stock": 1})
    results = run(
        patcher,
        {"Type": "PATCH", "Id": "products/1-A", "Patch": {"Script": "this.Stock += args.n", "Values": {"n": 2}},
         "ReturnDocument": True},
        {"Type": "PATCH", "Id": "products/9-A", "Patch": {"Script": "this.Stock++"},
         "CreateIfMissing": {**product("New"), "Stock": 0}},
        {"Type": "JsonPatch", "Id": "products/1-A", "JsonPatch": {"Operations": [
            {"op": "add", "path": "/Tags", "value": ["tea"]}]}},
        {"Type": "BatchPATCH", "Ids": [{"Id": "products/1-A"}, {"Id": "products/9-A"}],
         "Patch": {"Script": "this.Batch = true"}})
    assert results[0]["PatchStatus"] == "Patched" and results[0]["ModifiedDocument"]["Stock"] == 3
    assert results[1]["PatchStatus"] == "Created" and results[1]["ChangeVector"]
    assert results[2]["PatchStatus"] == "Patched" and "ModifiedDocument" not in results[2]
    assert results[3] == {"Type": "BatchPATCH"}
    document = database.get("products/1-A")
    assert document is not None
    stored = orjson.loads(document.body)
    assert (stored["Stock"], stored["Tags"], stored["Batch"]) == (3, ["tea"], True)
    with pytest.raises(ScriptError):
        run(patcher, {"Type": "PUT", "Id": "products/5-A", "Document": product("x")},
            {"Type": "PATCH", "Id": "products/1-A", "Patch": {"Script": "throw new Error('x')"}})
    assert database.get("products/5-A") is None


def test_attachments_in_a_batch(patcher: Patcher, database: Database) -> None:
    database.put("products/1-A", product("Chai"))
    database.put("products/2-A", product("Chang"))
    results = run(
        patcher,
        {"Type": "AttachmentPUT", "Id": "products/1-A", "Name": "photo", "ContentType": "image/png"},
        {"Type": "AttachmentCOPY", "Id": "products/1-A", "Name": "photo", "DestinationId": "products/2-A",
         "DestinationName": "copy"},
        {"Type": "AttachmentMOVE", "Id": "products/1-A", "Name": "photo", "DestinationId": "products/1-A",
         "DestinationName": "renamed"},
        {"Type": "AttachmentDELETE", "Id": "products/3-A", "Name": "nothing"},
        streams=(AttachmentStream(b"png!"),))
    assert results[0]["Hash"] == results[1]["Hash"] and results[0]["Size"] == 4
    assert results[0]["ContentType"] == "image/png" and results[0]["DocumentChangeVector"]
    assert (results[2]["DestinationName"], results[3]["@id"]) == ("renamed", "products/3-A")
    assert [a.name for a in database.storage.attachments("products/1-A")] == ["renamed"]
    copied = database.storage.attachment_content("products/2-A", "copy")
    assert copied is not None and copied[1] == b"png!"
    assert database.storage.statistics().unique_attachments == 1
    with pytest.raises(BadRequestError, match="carries 2 attachment streams but its commands use 1"):
        run(patcher, {"Type": "AttachmentPUT", "Id": "products/1-A", "Name": "a"},
            streams=(AttachmentStream(b"1"), AttachmentStream(b"2")))
    with pytest.raises(BadRequestError, match="has no content"):
        run(patcher, {"Type": "AttachmentPUT", "Id": "products/1-A", "Name": "a"})
    with pytest.raises(NotFoundError, match="no attachment with 'missing' name"):
        run(patcher, {"Type": "AttachmentCOPY", "Id": "products/1-A", "Name": "missing",
                      "DestinationId": "products/2-A", "DestinationName": "x"})


def test_cluster_wide_compare_exchange_commits_with_the_documents(patcher: Patcher, database: Database) -> None:
    body = run_batch(database, patcher, {"TransactionMode": "ClusterWide", "Commands": [
        {"Type": "CompareExchangePUT", "Id": "emails/ann", "Document": {"Object": "users/1"}, "Index": 0},
        {"Type": "PUT", "Id": "users/1", "Document": product("Ann", "Users")}]})
    assert body.transaction_index > 0 and body.results[0]["Key"] == "emails/ann"
    index = body.results[0]["Index"]
    with pytest.raises(ConcurrencyError, match="Concurrency check failed for putting the key 'emails/ann'"):
        run(patcher, {"Type": "CompareExchangePUT", "Id": "emails/ann", "Document": {"Object": "x"}, "Index": 0},
            {"Type": "PUT", "Id": "users/2", "Document": product("Bob", "Users")}, mode="ClusterWide")
    assert database.get("users/2") is None
    deleted = run(patcher, {"Type": "CompareExchangeDELETE", "Id": "emails/ann", "Index": index}, mode="ClusterWide")
    assert deleted[0]["Type"] == "CompareExchangeDELETE"
    assert database.storage.compare_exchange(["emails/ann"]) == [None]


def test_tracked_changes_are_verified(patcher: Patcher, database: Database) -> None:
    change_vector = database.put("products/1-A", product("Chai")).document.change_vector
    assert run(patcher, {"Type": "BatchTrackChanges", "TrackedEntities": {"products/1-A": change_vector}}) == [
        {"Type": "BatchTrackChanges"}]
    with pytest.raises(ConcurrencyError):
        run(patcher, {"Type": "BatchTrackChanges", "TrackedEntities": {"products/1-A": "A:1-old"}})
