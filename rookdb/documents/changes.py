"""The changes API's notifications of one database: who watches what, and what each watcher hears.

A watcher (one changes connection) subscribes with RavenDB's commands (``watch-doc``, ``watch-docs``,
``watch-prefix``, ``watch-collection``, ``watch-index``, ``watch-indexes``, ``watch-operation``,
``watch-operations`` and their ``unwatch-`` pairs). Document changes come from the storage's commit
listener, so they reach every watcher in commit order, one notification per write, shaped as RavenDB
shapes them: ``{"Type": "DocumentChange", "Value": {"Type": "Put"|"Delete", "Id", "CollectionName",
"ChangeVector"}}``. Index and operation notifications are published by their owners.

Delivery is the watcher's business (``deliver`` must not block: the writer calls it); a watcher whose
queue overflows is dropped with a reason, as a slow peer must not hold up the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rookdb.errors import BadRequestError
from rookdb.storage.base import CommittedChange

__all__ = ["COMMANDS", "ChangesHub", "Subscriptions", "Watcher"]

Notification = dict[str, Any]

# command → (subscription kind, whether it takes a parameter)
COMMANDS: dict[str, tuple[str, bool]] = {
    "watch-doc": ("doc", True), "watch-docs": ("all-docs", False), "watch-prefix": ("prefix", True),
    "watch-collection": ("collection", True), "watch-index": ("index", True), "watch-indexes": ("all-indexes", False),
    "watch-operation": ("operation", True), "watch-operations": ("all-operations", False),
}
# Other features' subscriptions (counters, time series, ...) are confirmed and never notified here.
_OTHER_FEATURES = ("counter", "timeseries")


@dataclass
class Subscriptions:
    """What one watcher listens to; names compare case-insensitively, as RavenDB's do."""

    all_documents: bool = False
    documents: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    collections: set[str] = field(default_factory=set)
    all_indexes: bool = False
    indexes: set[str] = field(default_factory=set)
    all_operations: bool = False
    operations: set[str] = field(default_factory=set)

    def apply(self, command: str, parameter: Any) -> None:
        """Apply a ``watch-*``/``unwatch-*`` command; raises `BadRequestError` for a malformed one."""
        watching = not command.startswith("unwatch-")
        base = "watch-" + command.removeprefix("unwatch-").removeprefix("watch-")
        if base not in COMMANDS:
            if any(feature in base for feature in _OTHER_FEATURES):
                return
            raise BadRequestError(f"Unknown changes command '{command}'.")
        kind, needs_parameter = COMMANDS[base]
        if needs_parameter and (not isinstance(parameter, str) or not parameter):
            raise BadRequestError(f"The changes command '{command}' needs a Param.")
        value = parameter.lower() if isinstance(parameter, str) else ""
        if kind == "all-docs":
            self.all_documents = watching
        elif kind == "all-indexes":
            self.all_indexes = watching
        elif kind == "all-operations":
            self.all_operations = watching
        else:
            target = {"doc": self.documents, "prefix": self.prefixes, "collection": self.collections,
                      "index": self.indexes, "operation": self.operations}[kind]
            (target.add if watching else target.discard)(value)

    def wants_document(self, change: CommittedChange) -> bool:
        if self.all_documents:
            return True
        lowered = change.id.lower()
        return (lowered in self.documents or change.collection.lower() in self.collections
                or any(lowered.startswith(prefix) for prefix in self.prefixes))

    def wants_index(self, name: str) -> bool:
        return self.all_indexes or name.lower() in self.indexes

    def wants_operation(self, operation_id: int) -> bool:
        return self.all_operations or str(operation_id) in self.operations


class Watcher:
    """One changes connection: its subscriptions and how it receives notifications."""

    def __init__(self, deliver: Callable[[Notification], bool]) -> None:
        """``deliver`` hands a notification on without blocking; False means the watcher cannot keep up."""
        self.subscriptions = Subscriptions()
        self._deliver = deliver
        self.dropped: str | None = None

    def send(self, notification: Notification) -> None:
        if self.dropped is None and not self._deliver(notification):
            self.dropped = "The changes connection fell too far behind the database's writes and was closed."


def document_notification(change: CommittedChange) -> Notification:
    return {"Type": "DocumentChange", "Value": {
        "Type": "Delete" if change.deleted else "Put", "Id": change.id, "CollectionName": change.collection,
        "ChangeVector": change.change_vector, "Counters": None}}


class ChangesHub:
    """The watchers of one database and the notifications they hear."""

    def __init__(self) -> None:
        self._watchers: list[Watcher] = []
        self._lock = threading.Lock()

    def add(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers = [*self._watchers, watcher]

    def remove(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers = [known for known in self._watchers if known is not watcher]

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def documents_committed(self, changes: Sequence[CommittedChange]) -> None:
        """The storage's commit listener: one notification per write, to every watcher that wants it."""
        watchers = self._watchers
        if not watchers:
            return
        for change in changes:
            notification: Notification | None = None
            for watcher in watchers:
                if watcher.subscriptions.wants_document(change):
                    notification = notification or document_notification(change)
                    watcher.send(notification)

    def index_changed(self, name: str, kind: str, etag: int | None = None) -> None:
        """``kind`` is RavenDB's ``IndexChangeTypes`` (``IndexAdded``, ``BatchCompleted``, ``IndexRemoved``...)."""
        notification = {"Type": "IndexChange", "Value": {"Name": name, "Type": kind, "Etag": etag}}
        for watcher in self._watchers:
            if watcher.subscriptions.wants_index(name):
                watcher.send(notification)

    def operation_changed(self, operation_id: int, state: dict[str, Any]) -> None:
        notification = {"Type": "OperationStatusChange", "Value": {"OperationId": operation_id, "State": state}}
        for watcher in self._watchers:
            if watcher.subscriptions.wants_operation(operation_id):
                watcher.send(notification)
