"""The changes hub: subscriptions by RavenDB's commands, and notifications in commit order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rookdb.documents.changes import ChangesHub, Subscriptions, Watcher
from rookdb.documents.database import Database
from rookdb.errors import BadRequestError
from rookdb.storage.base import CommittedChange


def collecting(heard: list[dict[str, Any]]) -> Callable[[dict[str, Any]], bool]:
    """A watcher's delivery that keeps every notification (and always keeps up)."""

    def deliver(notification: dict[str, Any]) -> bool:
        heard.append(notification)
        return True

    return deliver


def change(doc_id: str, collection: str = "Users", deleted: bool = False) -> CommittedChange:
    return CommittedChange(1, doc_id, collection, "A:1-x", deleted)


@pytest.mark.parametrize(("commands", "doc_id", "collection", "wanted"), [
    ([("watch-docs", None)], "orders/1", "Orders", True),
    ([("watch-doc", "Users/1")], "users/1", "Users", True),
    ([("watch-doc", "users/1")], "users/2", "Users", False),
    ([("watch-prefix", "USERS/")], "users/2", "Users", True),
    ([("watch-collection", "users")], "people/1", "Users", True),
    ([("watch-collection", "Orders")], "users/1", "Users", False),
    ([("watch-doc", "users/1"), ("unwatch-doc", "users/1")], "users/1", "Users", False),
    ([("watch-docs", None), ("unwatch-docs", None)], "users/1", "Users", False),
])
def test_document_subscriptions(commands: list[tuple[str, Any]], doc_id: str, collection: str, wanted: bool) -> None:
    subscriptions = Subscriptions()
    for command, parameter in commands:
        subscriptions.apply(command, parameter)
    assert subscriptions.wants_document(change(doc_id, collection)) is wanted


def test_index_and_operation_subscriptions() -> None:
    subscriptions = Subscriptions()
    subscriptions.apply("watch-index", "Orders/ByDate")
    subscriptions.apply("watch-operation", "7")
    subscriptions.apply("watch-counters", None)  # another feature's: accepted, never notified here
    assert subscriptions.wants_index("orders/bydate") and not subscriptions.wants_index("Other")
    assert subscriptions.wants_operation(7) and not subscriptions.wants_operation(8)


@pytest.mark.parametrize(("command", "parameter", "message"), [
    ("watch-everything", None, "Unknown changes command"),
    ("watch-doc", None, "needs a Param"),
    ("watch-prefix", "", "needs a Param"),
])
def test_malformed_commands(command: str, parameter: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        Subscriptions().apply(command, parameter)


def test_committed_writes_reach_watchers_in_commit_order(database: Database) -> None:
    heard: list[dict[str, Any]] = []
    watcher = Watcher(collecting(heard))
    watcher.subscriptions.apply("watch-collection", "Users")
    database.changes.add(watcher)
    database.put("users/1", {"@metadata": {"@collection": "Users"}})
    database.put("orders/1", {"@metadata": {"@collection": "Orders"}})
    database.put("users/1", {"Name": "again", "@metadata": {"@collection": "Users"}})
    database.delete("users/1")
    values = [notification["Value"] for notification in heard]
    assert [(value["Type"], value["Id"]) for value in values] == [("Put", "users/1"), ("Put", "users/1"),
                                                                  ("Delete", "users/1")]
    assert values[0]["ChangeVector"] != values[1]["ChangeVector"] and values[0]["CollectionName"] == "Users"
    database.changes.remove(watcher)
    database.put("users/2", {"@metadata": {"@collection": "Users"}})
    assert len(heard) == 3


def test_a_watcher_that_cannot_keep_up_is_dropped() -> None:
    hub = ChangesHub()
    watcher = Watcher(lambda notification: False)
    watcher.subscriptions.apply("watch-docs", None)
    hub.add(watcher)
    hub.documents_committed([change("users/1")])
    assert watcher.dropped is not None and "fell too far behind" in watcher.dropped


def test_index_and_operation_notifications() -> None:
    hub = ChangesHub()
    heard: list[dict[str, Any]] = []
    watcher = Watcher(collecting(heard))
    watcher.subscriptions.apply("watch-indexes", None)
    watcher.subscriptions.apply("watch-operations", None)
    hub.add(watcher)
    hub.index_changed("Users/ByName", "IndexAdded")
    hub.operation_changed(3, {"Status": "Completed"})
    assert heard == [{"Type": "IndexChange", "Value": {"Name": "Users/ByName", "Type": "IndexAdded", "Etag": None}},
                     {"Type": "OperationStatusChange", "Value": {"OperationId": 3, "State": {"Status": "Completed"}}}]
