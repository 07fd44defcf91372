"""Patching through the official client: PatchOperation, the session's patch commands, JSON patches,
patch and delete by query, and failing scripts."""

from __future__ import annotations

from typing import Any

import pytest
from ravendb import DocumentStore, PatchByQueryOperation, PatchOperation, PatchRequest, PatchStatus
from ravendb.documents.operations.json_patch import JsonPatchDocument, JsonPatchOperation
from ravendb.documents.operations.misc import DeleteByQueryOperation
from ravendb.documents.queries.index_query import IndexQuery
from ravendb.exceptions.raven_exceptions import RavenException

from tests.support.waiting import wait_for


class User:
    def __init__(self, Name: str | None = None, Age: int = 0, Tags: list[str] | None = None,
                 Id: str | None = None) -> None:
        self.Name = Name
        self.Age = Age
        self.Tags = Tags or []
        self.Id = Id


def stored_or_none(store: DocumentStore, doc_id: str) -> User | None:
    with store.open_session() as session:
        user: User | None = session.load(doc_id, User)
        return user


def stored(store: DocumentStore, doc_id: str) -> User:
    user = stored_or_none(store, doc_id)
    assert user is not None, doc_id
    return user


@pytest.fixture
def users(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for number in range(1, 4):
            session.store(User(f"user {number}", number), f"users/{number}")
        session.save_changes()
    return store


def test_patch_operation(users: DocumentStore) -> None:
    result = users.operations.send(PatchOperation("users/1", None, PatchRequest("this.Name = args.name;",
                                                                                   {"name": "Ann"})))
    assert result.status == PatchStatus.PATCHED and result.modified_document["Name"] == "Ann"
    typed = users.operations.send_patch_operation_with_entity_class(
        User, PatchOperation("users/1", None, PatchRequest("this.Name = 'Ann';")))
    assert typed.status == PatchStatus.NOT_MODIFIED and typed.document.Name == "Ann"
    missing = users.operations.send(PatchOperation("users/9", None, PatchRequest("this.Name = 'x';")))
    assert missing is None
    created = users.operations.send(PatchOperation(
        "users/9", None, PatchRequest("this.Name = 'x';"),
        PatchRequest("this.Name = 'created'; this.Age = 0; this.Tags = [];"
                     " this['@metadata']['@collection'] = 'Users';")))
    assert created.status == PatchStatus.CREATED and stored(users, "users/9").Name == "created"


def test_a_failing_script_names_its_line_and_changes_nothing(users: DocumentStore) -> None:
    with pytest.raises(RavenException, match=r"JavaScriptException.*line 2"):
        users.operations.send(PatchOperation("users/1", None, PatchRequest("this.Name = 'x';\nthrow new Error('no');")))
    with pytest.raises(RavenException, match="time limit"):
        users.operations.send(PatchOperation("users/1", None, PatchRequest("while (true) {}")))
    assert stored(users, "users/1").Name == "user 1"


def test_session_patch_commands(users: DocumentStore) -> None:
    with users.open_session() as session:
        user = session.load("users/1", User)
        session.advanced.increment(user, "Age", 10)
        session.advanced.patch(user, "Name", "patched")
        session.advanced.patch_array(user, "Tags", lambda array: array.add("a", "b"))
        session.advanced.add_or_increment("users/7", User("seven", 7), "Age", 1)
        session.save_changes()
        assert (user.Name, user.Age) == ("patched", 11)
    assert stored(users, "users/1").Tags == ["a", "b"] and stored(users, "users/7").Age == 7
    with users.open_session() as session:
        session.advanced.add_or_increment("users/7", User("seven", 7), "Age", 1)
        session.advanced.add_or_patch("users/8", User("eight", 8), "Name", "patched")
        session.advanced.defer(JsonPatchCommand("users/2"))
        session.save_changes()
    assert stored(users, "users/7").Age == 8 and stored(users, "users/8").Name == "eight"
    assert stored(users, "users/2").Name == "json"


def JsonPatchCommand(doc_id: str) -> Any:
    from ravendb.documents.commands.batches import JsonPatchCommandData

    return JsonPatchCommandData(doc_id, JsonPatchDocument().replace("/Name", "json"))


def test_json_patch_operation(users: DocumentStore) -> None:
    result = users.operations.send(JsonPatchOperation("users/3", JsonPatchDocument().add("/Tags/-", "x")))
    assert result.status == PatchStatus.PATCHED and stored(users, "users/3").Tags == ["x"]
    with pytest.raises(RavenException, match="does not exist in the document"):
        users.operations.send(JsonPatchOperation("users/3", JsonPatchDocument().replace("/Nope", 1)))


def test_patch_by_query_with_an_alias_and_parameters(users: DocumentStore) -> None:
    query = IndexQuery("from Users as u where u.Age >= $min update { u.Name = u.Name + $suffix; }")
    query.query_parameters = {"min": 2, "suffix": "!"}
    users.operations.send_async(PatchByQueryOperation(query)).wait_for_completion()
    assert [stored(users, f"users/{n}").Name for n in (1, 2, 3)] == ["user 1", "user 2!", "user 3!"]


def test_delete_by_query(users: DocumentStore) -> None:
    users.operations.send_async(DeleteByQueryOperation("from Users where Age > 1")).wait_for_completion()
    assert stored_or_none(users, "users/1") is not None
    assert stored_or_none(users, "users/2") is None and stored_or_none(users, "users/3") is None


def test_a_failing_patch_by_query_faults_its_operation(users: DocumentStore) -> None:
    operation = users.operations.send_async(PatchByQueryOperation("from Users update { throw new Error('bad'); }"))
    with pytest.raises(RavenException, match="bad"):
        operation.wait_for_completion()
    assert stored(users, "users/1").Name == "user 1"


def test_patch_by_query_inside_the_storage_is_seen_by_loads_and_the_changes_api(store: DocumentStore) -> None:
    for first in range(1, 2501, 500):  # more than one batch of the operation
        with store.open_session() as session:
            for number in range(first, first + 500):
                session.store(User(f"user {number}", number), f"users/{number}")
            session.save_changes()
    with store.open_session() as session:
        session.store(User("already", 7), "active/1")
        session.save_changes()
    heard: list[Any] = []
    observable = store.changes().for_documents_in_collection("Users")
    close = observable.subscribe(heard.append)
    observable.ensure_subscribe_now()
    operation = store.operations.send_async(PatchByQueryOperation(IndexQuery(
        "from Users update { this.Active = true; this.Age += 1; }")))
    operation.wait_for_completion()
    result = operation.fetch_operations_status()["Result"]
    assert result["Total"] == 2501 and result["DocumentsProcessed"] == 2501
    wait_for(lambda: len(heard) >= 2501, what="a notification for every patched user")
    close()
    assert sorted(change.key for change in heard) == sorted([f"users/{n}" for n in range(1, 2501)] + ["active/1"])
    etags = [int(change.change_vector.split(":")[1].split("-")[0]) for change in heard]
    assert etags == sorted(etags)  # in commit (etag) order
    with store.open_session() as session:
        loaded = session.load([f"users/{n}" for n in (1, 1250, 2500)], dict)
        vectors = {doc_id: session.advanced.get_change_vector_for(document) for doc_id, document in loaded.items()}
    assert [loaded[f"users/{n}"]["Age"] for n in (1, 1250, 2500)] == [2, 1251, 2501]
    assert all(document["Active"] is True for document in loaded.values())
    assert {change.key: change.change_vector for change in heard if change.key in vectors} == vectors
