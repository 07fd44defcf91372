"""The changes API through the official client's websocket, and what the server does with a bad peer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websocket
from ravendb import DocumentStore
from ravendb.documents.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority
from ravendb.documents.operations.indexes import (
    DeleteIndexOperation,
    PutIndexesOperation,
    SetIndexesLockOperation,
    SetIndexesPriorityOperation,
)

from rookdb.server.runner import BackgroundServer
from rookdb.testing.server_process import ServerProcess
from tests.support.stores import open_store
from tests.support.waiting import wait_for


class User:
    def __init__(self, name: str | None = None) -> None:
        self.name = name


def watch(subscribe: Callable[..., Any]) -> tuple[list[Any], Callable[[], None]]:
    heard: list[Any] = []
    observable = subscribe()
    close = observable.subscribe(heard.append)
    observable.ensure_subscribe_now()
    return heard, close


def test_documents_collections_prefixes_and_one_document(store: DocumentStore) -> None:
    changes = store.changes()
    everything, close_all = watch(changes.for_all_documents)
    users, close_users = watch(lambda: changes.for_documents_in_collection("Users"))
    prefixed, close_prefixed = watch(lambda: changes.for_documents_start_with("users/1"))
    single, close_single = watch(lambda: changes.for_document("users/2"))
    with store.open_session() as session:
        session.store(User("Ann"), "users/1")
        session.store(User("Bob"), "users/2")
        session.store(User("Cy"), "users/10")
        session.save_changes()
    with store.open_session() as session:
        session.delete("users/2")
        session.save_changes()
    wait_for(lambda: len(everything) == 4, what="every write to be notified")
    assert [(change.key, str(change.type_of_change)) for change in everything] == [
        ("users/1", "Put"), ("users/2", "Put"), ("users/10", "Put"), ("users/2", "Delete")]
    wait_for(lambda: len(users) == 4 and len(single) == 2, what="the collection and document watchers")
    assert [change.key for change in prefixed] == ["users/1", "users/10"]
    assert all(change.collection_name == "Users" and change.change_vector for change in single)
    for close in (close_all, close_users, close_prefixed, close_single):
        close()


def test_index_changes(store: DocumentStore) -> None:
    changes = store.changes()
    every_index, close_all = watch(changes.for_all_indexes)
    dogs, close_dogs = watch(lambda: changes.for_index("Dogs"))
    definitions = [IndexDefinition(name=name, maps={f"from doc in docs.{name} select new {{ doc.Name }}"})
                   for name in ("Dogs", "Cats")]
    store.maintenance.send(PutIndexesOperation(*definitions))
    store.maintenance.send(PutIndexesOperation(definitions[0]))  # identical: nothing changes
    store.maintenance.send(SetIndexesPriorityOperation(IndexPriority.LOW, "Dogs"))
    store.maintenance.send(SetIndexesLockOperation(IndexLockMode.LOCKED_IGNORE, "Cats"))
    store.maintenance.send(DeleteIndexOperation("Dogs"))
    expected = [("Dogs", "IndexAdded"), ("Cats", "IndexAdded"), ("Dogs", "PriorityChanged"),
                ("Cats", "LockModeChanged"), ("Dogs", "IndexRemoved")]
    wait_for(lambda: len(every_index) == len(expected), what="every index change to be notified")
    assert [(change.name, str(change.type_of_change.value)) for change in every_index] == expected
    assert [str(change.type_of_change.value) for change in dogs] == ["IndexAdded", "PriorityChanged", "IndexRemoved"]
    close_all()
    close_dogs()


def raw_socket(server: BackgroundServer, database: str) -> websocket.WebSocket:
    connection = websocket.WebSocket()
    connection.connect(  # type: ignore[no-untyped-call]  # websocket-client is untyped
        server.url.replace("http://", "ws://") + f"/databases/{database}/changes", timeout=10)
    return connection


def messages(connection: websocket.WebSocket) -> list[dict[str, Any]]:
    frame = connection.recv()
    parsed: list[dict[str, Any]] = json.loads(frame)
    return parsed


def test_commands_are_confirmed_and_garbage_is_refused(store: DocumentStore, server: BackgroundServer) -> None:
    connection = raw_socket(server, store.database)
    connection.send(json.dumps({"CommandId": 1, "Command": "watch-doc", "Param": "users/1"}))
    assert messages(connection) == [{"CommandId": 1, "Type": "Confirm"}]
    with store.open_session() as session:
        session.store(User("Ann"), "users/1")
        session.save_changes()
    (notification,) = messages(connection)
    assert notification["Type"] == "DocumentChange" and notification["Value"]["Id"] == "users/1"
    connection.send("this is not a command")
    (error,) = messages(connection)
    assert error["Type"] == "Error" and "must be JSON" in error["Exception"]
    opcode, _ = connection.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    # The server lives on: a new connection works.
    again = raw_socket(server, store.database)
    again.send(json.dumps({"CommandId": 7, "Command": "watch-docs"}))
    assert messages(again) == [{"CommandId": 7, "Type": "Confirm"}]
    again.close()


def test_an_unknown_database_is_refused(server: BackgroundServer) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        raw_socket(server, "nowhere")
    assert refused.value.status_code == 403


@pytest.mark.slow
def test_a_client_that_reconnects_gets_a_working_feed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", log=tmp_path / "server.log").start()
    store = open_store(server.url, "Reconnecting")
    try:
        heard, close = watch(lambda: store.changes().for_all_documents())
        server.kill()  # the connection drops without a goodbye, as when a server crashes
        server.start()

        def written_and_heard() -> bool:
            with store.open_session() as session:
                session.store(User("after restart"))
                session.save_changes()
            return bool(heard)

        wait_for(written_and_heard, what="the client to reconnect and hear a write", timeout=60)
        close()
    finally:
        store.close()
        server.stop()
