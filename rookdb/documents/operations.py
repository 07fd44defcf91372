"""Long-running operations: work that answers an operation id at once and runs on, as RavenDB's
patch and delete by query, compaction and bulk insert do.

Clients poll ``GET /operations/state?id=`` (``Operation.wait_for_completion``) and may kill an
operation (``POST /operations/kill?id=``). The state has RavenDB's shape: ``{"Status": "InProgress" |
"Completed" | "Faulted" | "Canceled", "Result": ..., "Progress": ...}``; a faulted operation's
``Result`` is the error envelope with its ``StatusCode``, which the client raises as the exception.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rookdb.errors import BadRequestError, RookError
from rookdb.wire import format_timestamp

__all__ = ["SETTLING_WAIT_S", "Operation", "OperationCanceled", "OperationRegistry", "OperationWork"]

_log = logging.getLogger(__name__)

# Finished operations are kept for clients that poll late; the oldest go first past this many.
_KEPT_FINISHED = 1000
_STOP_TIMEOUT_S = 10.0
SETTLING_WAIT_S = 0.5
"""Longest a state request waits for an operation whose progress says it ends within that time: the
official clients poll every 0.5 s, so they see the end as it happens instead of up to a poll later."""


class OperationCanceled(Exception):
    """Raised inside an operation's work by ``Operation.check`` once the operation was killed."""


@dataclass
class Operation:
    """One operation: its description, its progress while it runs, its result once done."""

    id: int
    database: str | None
    kind: str
    description: dict[str, Any]
    started_at: str = field(default_factory=format_timestamp)
    status: str = "InProgress"
    result: Any = None
    progress: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    began: float = field(default_factory=time.monotonic)

    def report(self, progress: dict[str, Any]) -> None:
        """Publish the progress that ``GetOperationStateOperation`` shows while the work runs."""
        self.progress = progress

    def check(self) -> None:
        """Raise ``OperationCanceled`` when the operation was killed; work calls this between steps."""
        if self.cancel.is_set():
            raise OperationCanceled

    def remaining(self) -> float | None:
        """Seconds the work should still take at the pace of its progress so far (``Processed`` of
        ``Total``), or None when its progress does not tell."""
        progress = self.progress or {}
        processed, total = progress.get("Processed"), progress.get("Total")
        if type(processed) is not int or type(total) is not int or not 0 < processed <= total:
            return None
        return (time.monotonic() - self.began) * (total - processed) / processed

    def settled_state(self, wait: float = SETTLING_WAIT_S) -> dict[str, Any]:
        """``state()``, once the work has ended when its progress says it ends within ``wait`` seconds
        (waiting no longer than that); blocks."""
        if self.status == "InProgress":
            remaining = self.remaining()
            if remaining is not None and remaining <= wait:
                self.done.wait(wait)
        return self.state()

    def state(self) -> dict[str, Any]:
        return {"Status": self.status, "Result": self.result,
                "Progress": self.progress if self.status == "InProgress" else None}

    def to_json(self) -> dict[str, Any]:
        return {"Id": self.id, "Description": {**self.description, "StartTime": self.started_at},
                "State": self.state(), "Killable": True}


OperationWork = Callable[[Operation], Any]
"""The body of an operation: gets its ``Operation`` (to report progress and check for a kill) and
returns the result; raising a ``RookError`` faults the operation with that error."""


def _fault(error: RookError) -> dict[str, Any]:
    return {"Type": error.wire_type, "Message": error.message, "Error": f"{error.wire_type}: {error.message}",
            "StatusCode": error.status_code}


class OperationRegistry:
    """The server's operations, numbered from one counter for every database (as RavenDB does)."""

    def __init__(self, on_change: Callable[[Operation], None] | None = None) -> None:
        """``on_change`` hears of every operation that finishes (the changes API's operation notifications)."""
        self._on_change = on_change
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._operations: OrderedDict[int, Operation] = OrderedDict()
        self._threads: dict[int, threading.Thread] = {}
        self._closed = False

    def next_id(self) -> int:
        """Reserve an id (``GetNextOperationIdCommand``: the client names its bulk insert with it)."""
        with self._lock:
            return next(self._ids)

    def register(self, database: str | None, kind: str, description: dict[str, Any],
                 operation_id: int | None = None) -> Operation:
        """Track work the caller runs itself (a bulk insert streaming in); finish it with ``complete``."""
        with self._lock:
            if self._closed:
                raise RookError("The server is shutting down.")
            identifier = operation_id if operation_id is not None else next(self._ids)
            operation = Operation(identifier, database, kind, description)
            self._operations[identifier] = operation
            self._trim()
        return operation

    def start(self, database: str | None, kind: str, description: dict[str, Any], work: OperationWork) -> Operation:
        """Run ``work`` on its own thread; the operation's state follows it."""
        operation = self.register(database, kind, description)
        thread = threading.Thread(target=self._run, args=(operation, work), name=f"operation-{operation.id}",
                                  daemon=True)
        with self._lock:
            self._threads[operation.id] = thread
        thread.start()
        return operation

    def _run(self, operation: Operation, work: OperationWork) -> None:
        try:
            result = work(operation)
        except OperationCanceled:
            self.complete(operation, status="Canceled")
        except RookError as error:
            self.complete(operation, status="Faulted", result=_fault(error))
        except Exception as error:
            _log.exception("Operation %d (%s) failed", operation.id, operation.kind)
            self.complete(operation, status="Faulted",
                          result=_fault(RookError(f"Operation failed: {type(error).__name__}: {error}")))
        else:
            self.complete(operation, result=result)
        finally:
            with self._lock:
                self._threads.pop(operation.id, None)

    def complete(self, operation: Operation, *, status: str = "Completed", result: Any = None) -> None:
        operation.result = result
        operation.status = status
        operation.done.set()
        if self._on_change is not None:
            try:
                self._on_change(operation)
            except Exception:
                _log.exception("Notifying the end of operation %d failed", operation.id)

    def get(self, operation_id: int, database: str | None = None) -> Operation | None:
        """The operation, when it exists and belongs to ``database`` (None: a server operation)."""
        operation = self._operations.get(operation_id)
        if operation is None or (operation.database or "").lower() != (database or "").lower():
            return None
        return operation

    def kill(self, operation_id: int, database: str | None = None) -> None:
        operation = self.get(operation_id, database)
        if operation is None:
            raise BadRequestError(f"Could not find operation {operation_id}.")
        operation.cancel.set()

    def running(self, database: str) -> list[Operation]:
        return [operation for operation in list(self._operations.values())
                if operation.status == "InProgress" and (operation.database or "").lower() == database.lower()]

    def cancel_database(self, database: str, timeout: float = _STOP_TIMEOUT_S) -> None:
        """Kill the operations of a database that is going away and wait for them to stop."""
        running = self.running(database)
        for operation in running:
            operation.cancel.set()
        deadline = time.monotonic() + timeout
        for operation in running:
            operation.done.wait(max(deadline - time.monotonic(), 0))

    def close(self, timeout: float = _STOP_TIMEOUT_S) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads.values())
            for operation in self._operations.values():
                operation.cancel.set()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))

    def _trim(self) -> None:
        finished = [key for key, operation in self._operations.items() if operation.status != "InProgress"]
        for key in finished[: max(len(finished) - _KEPT_FINISHED, 0)]:
            del self._operations[key]
