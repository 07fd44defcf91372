"""A task's errors: item errors (one document skipped) and process errors (a batch failed), each table
capped at ``MAX_ERRORS_PER_TABLE`` with the oldest evicted, kept in the task's stored state."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rookdb.ai.embeddings.failure_policy import Step

__all__ = ["MAX_ERRORS_PER_TABLE", "ErrorKind", "ErrorsLog", "TaskError"]

# RavenDB's cap per table; not configurable there either.
MAX_ERRORS_PER_TABLE = 500


class ErrorKind(StrEnum):
    ITEM = "Item"
    PROCESS = "Process"


@dataclass(frozen=True)
class TaskError:
    """One recorded error: ``document_id`` for an item error, ``count`` (documents) for a process error."""

    kind: ErrorKind
    step: Step
    message: str
    at: str
    document_id: str | None = None
    count: int | None = None

    def to_json(self, task_name: str) -> dict[str, Any]:
        return {"TaskName": task_name, "Kind": self.kind.value, "Step": self.step.value,
                "DocumentId": self.document_id, "Count": self.count, "Message": self.message, "At": self.at}

    def to_state(self) -> dict[str, Any]:
        return {"Kind": self.kind.value, "Step": self.step.value, "Message": self.message, "At": self.at,
                "DocumentId": self.document_id, "Count": self.count}

    @classmethod
    def from_state(cls, value: dict[str, Any]) -> TaskError:
        return cls(ErrorKind(value["Kind"]), Step(value["Step"]), str(value["Message"]), str(value["At"]),
                   value.get("DocumentId"), value.get("Count"))


class ErrorsLog:
    """Thread-safe: the worker adds, the HTTP API reads and clears."""

    def __init__(self, state: Any = None, cap: int = MAX_ERRORS_PER_TABLE) -> None:
        self._lock = threading.Lock()
        self._items: deque[TaskError] = deque(maxlen=cap)
        self._processes: deque[TaskError] = deque(maxlen=cap)
        self.version = 0
        """Bumped on every change, so the worker stores the log only when it changed."""
        if isinstance(state, dict):
            for key, table in (("Items", self._items), ("Processes", self._processes)):
                for value in state.get(key) or []:
                    try:
                        table.append(TaskError.from_state(value))
                    except (KeyError, ValueError, TypeError):
                        continue  # an entry written by a newer version: dropping it loses only history

    def add_item(self, step: Step, document_id: str, message: str, at: str) -> None:
        with self._lock:
            self._items.append(TaskError(ErrorKind.ITEM, step, message, at, document_id=document_id))
            self.version += 1

    def add_process(self, step: Step, count: int, message: str, at: str) -> None:
        with self._lock:
            self._processes.append(TaskError(ErrorKind.PROCESS, step, message, at, count=count))
            self.version += 1

    def entries(self) -> list[TaskError]:
        """Every error, oldest first."""
        with self._lock:
            return sorted([*self._items, *self._processes], key=lambda error: error.at)

    def last(self) -> TaskError | None:
        entries = self.entries()
        return entries[-1] if entries else None

    def clear(self) -> int:
        """Forget every error; returns how many there were."""
        with self._lock:
            count = len(self._items) + len(self._processes)
            self._items.clear()
            self._processes.clear()
            self.version += 1
            return count

    def to_state(self) -> dict[str, Any]:
        with self._lock:
            return {"Items": [error.to_state() for error in self._items],
                    "Processes": [error.to_state() for error in self._processes]}
