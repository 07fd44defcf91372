"""The AI part of the database record: connection strings and embeddings generation tasks.

Both live in the record (``AiConnectionStrings`` keyed by name, ``EmbeddingsGenerations`` as a list),
so they survive restarts and are read by ``GetDatabaseRecordOperation``. Secrets are sealed with the
server master key before they reach the record and opened only when read back.

rookdb's own entries sit beside them: each task's generations (``EmbeddingsTaskGenerations``: which
generation of its embeddings serves queries, and the migration to another connection string in
progress) and the sections left to remove (``EmbeddingsSectionCleanups``), so that a migration and its
clean-up survive a crash.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, TypeVar

from rookdb.ai.connection_strings import (
    CONNECTORS,
    AiConnectionString,
    keep_unsent,
    locked_changes,
    parse_connection_string,
    render_connection_string,
    restore_masked,
    secret_fields,
)
from rookdb.ai.embeddings.generations import Generation, SectionCleanup, TaskGenerations
from rookdb.ai.identifiers import validate_identifier
from rookdb.ai.prompts import document_prompt_changes
from rookdb.ai.task_config import (
    EmbeddingsGenerationConfiguration,
    keep_unsent_budget,
    parse_task_configuration,
    render_task_configuration,
    with_connector,
)
from rookdb.documents.secrets import SecretBox
from rookdb.errors import InUseError, NotFoundError, ValidationError
from rookdb.wire import EMBEDDINGS_GENERATION, format_timestamp

__all__ = ["AiRecord", "RecordStore", "TaskUsage", "TaskWrite"]

_T = TypeVar("_T")

_CONNECTION_STRINGS = "AiConnectionStrings"
_TASKS = "EmbeddingsGenerations"
_NEXT_TASK_ID = "NextTaskId"
_GENERATIONS = "EmbeddingsTaskGenerations"
_CLEANUPS = "EmbeddingsSectionCleanups"


def _generations_in(record: dict[str, Any], task_id: int) -> TaskGenerations:
    return TaskGenerations.from_json(record.get(_GENERATIONS, {}).get(str(task_id)))


def _set_generations(record: dict[str, Any], task_id: int, generations: TaskGenerations) -> None:
    stored: dict[str, Any] = record.setdefault(_GENERATIONS, {})
    if generations == TaskGenerations():
        stored.pop(str(task_id), None)
    else:
        stored[str(task_id)] = generations.to_json()


def _add_cleanup(record: dict[str, Any], cleanup: SectionCleanup) -> None:
    record.setdefault(_CLEANUPS, []).append(cleanup.to_json())


def _migrated(record: dict[str, Any], stored: EmbeddingsGenerationConfiguration,
              updated: EmbeddingsGenerationConfiguration) -> None:
    """Start, redirect or cancel the migration of a task whose connection string changes."""
    if updated.connection_string_name == stored.connection_string_name:
        return
    generations = _generations_in(record, stored.task_id)
    serving = generations.serving
    if serving is not None and serving.connection_string_name == updated.connection_string_name:
        # Back to the connection string still serving: the migration is cancelled.
        _add_cleanup(record, SectionCleanup(stored.collection, stored.identifier, frozenset({serving.number}),
                                            serving.number))
        _set_generations(record, stored.task_id,
                         TaskGenerations(serving.number, last=max(generations.current, generations.last)))
        return
    number = generations.next_number()
    if serving is None:
        serving = Generation(generations.current, stored.connection_string_name)
    else:  # a third connection string: the half-built generation is dropped
        _add_cleanup(record, SectionCleanup(stored.collection, stored.identifier,
                                            frozenset({serving.number, number}), None))
    _set_generations(record, stored.task_id, TaskGenerations(number, serving, format_timestamp(), number))


class RecordStore(Protocol):
    """Where the database record lives (a ``Database``): read whole, changed atomically."""

    def record(self) -> tuple[dict[str, Any], int]:
        """The record and its etag."""

    def record_etag(self) -> int:
        """The record's etag alone (cheap)."""

    def update_record(self, change: Callable[[dict[str, Any]], _T]) -> tuple[_T, int]:
        """Apply ``change`` to the record in one transaction; (its return value, the new etag)."""


@dataclass(frozen=True)
class TaskUsage:
    """A task that uses a connection string (the ``UsedBy`` entries)."""

    task_id: int
    name: str
    identifier: str

    def to_json(self) -> dict[str, Any]:
        return {"Kind": EMBEDDINGS_GENERATION, "Id": self.task_id, "Name": self.name,
                "Identifier": self.identifier}


@dataclass(frozen=True)
class TaskWrite:
    """What adding or updating a task did."""

    task: EmbeddingsGenerationConfiguration
    raft_index: int
    reset: bool


class _ParsedRecord:
    """One version of the record with its AI entries parsed once, on first use: every vector query and
    indexing step reads the tasks and generations, and parsing the record each time cost more than the
    query's search."""

    def __init__(self, record: dict[str, Any], etag: int, open_stored: Callable[[dict[str, Any]], AiConnectionString]):
        self.record = record
        self.etag = etag
        self._open = open_stored

    @cached_property
    def tasks(self) -> tuple[EmbeddingsGenerationConfiguration, ...]:
        return tuple(parse_task_configuration(stored) for stored in self.record.get(_TASKS, []))

    @cached_property
    def generations(self) -> dict[int, TaskGenerations]:
        return {int(task_id): TaskGenerations.from_json(value)
                for task_id, value in self.record.get(_GENERATIONS, {}).items()}

    @cached_property
    def connection_strings(self) -> dict[str, AiConnectionString]:
        return {name: self._open(stored) for name, stored in self.record.get(_CONNECTION_STRINGS, {}).items()}


class AiRecord:
    """Reads and changes the AI entries of one database's record."""

    def __init__(self, store: RecordStore, secrets: SecretBox) -> None:
        self._store = store
        self._secrets = secrets
        self._listeners: list[Callable[[], None]] = []
        self._parsed: _ParsedRecord | None = None

    def _current(self) -> _ParsedRecord:
        """The record as stored now, parsed: reused while its etag has not moved (another node's change
        moves it too)."""
        parsed = self._parsed
        if parsed is None or parsed.etag != self._store.record_etag():
            record, etag = self._store.record()  # read together: the etag is that of this version
            parsed = self._parsed = _ParsedRecord(record, etag, self._open)
        return parsed

    def on_tasks_changed(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after any task or connection-string change (workers reload)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- connection strings ------------------------------------------------------------------------

    def _transform_secrets(self, stored: dict[str, Any], transform: Callable[[str], str]) -> dict[str, Any]:
        """A copy of the wire JSON with every non-empty secret passed through ``transform``."""
        copy = dict(stored)
        for connector in CONNECTORS.values():
            block = copy.get(connector.json_key)
            if not isinstance(block, dict):
                continue
            block = dict(block)
            for wire_name in secret_fields(connector.settings_class):
                value = block.get(wire_name)
                if isinstance(value, str) and value:
                    block[wire_name] = transform(value)
            copy[connector.json_key] = block
        return copy

    def _seal(self, connection_string: AiConnectionString) -> dict[str, Any]:
        return self._transform_secrets(render_connection_string(connection_string), self._secrets.seal)

    def _open(self, stored: dict[str, Any]) -> AiConnectionString:
        return parse_connection_string(self._transform_secrets(stored, self._secrets.open))

    def connection_strings(self) -> dict[str, AiConnectionString]:
        return dict(self._current().connection_strings)

    def connection_string(self, name: str) -> AiConnectionString | None:
        return self._current().connection_strings.get(name)

    def usage(self, connection_string_name: str) -> list[TaskUsage]:
        return [TaskUsage(task.task_id, task.name, task.identifier) for task in self.tasks()
                if task.connection_string_name == connection_string_name]

    def put_connection_string(self, data: Any) -> int:
        """Add or replace (by name); refuses identifier clashes and locked edits of a string in use."""
        incoming = parse_connection_string(data)

        def change(record: dict[str, Any]) -> None:
            strings: dict[str, Any] = record.setdefault(_CONNECTION_STRINGS, {})
            previous = self._open(strings[incoming.name]) if incoming.name in strings else None
            connection_string = keep_unsent(restore_masked(incoming, previous), previous, data)
            for name, stored in strings.items():
                if name != connection_string.name and stored.get("Identifier") == connection_string.identifier:
                    raise ValidationError(
                        "Identifier", f"'{connection_string.identifier}' is already used by connection string "
                        f"'{name}'; identifiers must be unique in a database")
            users = self._users_in(record, connection_string.name)
            if previous is not None and users:
                locked = locked_changes(previous, connection_string) + document_prompt_changes(
                    previous, connection_string)
                if locked:
                    raise InUseError(
                        f"Connection string '{connection_string.name}' is used by embeddings task(s) "
                        f"{', '.join(repr(task.name) for task in users)}: {', '.join(locked)} cannot change while "
                        "it is in use (the API key and endpoint can). Create a new connection string instead.")
            strings[connection_string.name] = self._seal(connection_string)

        _, etag = self._store.update_record(change)
        self._changed()
        return etag

    def remove_connection_string(self, name: str) -> int:
        def change(record: dict[str, Any]) -> None:
            strings: dict[str, Any] = record.setdefault(_CONNECTION_STRINGS, {})
            if name not in strings:
                raise NotFoundError(f"AI connection string '{name}' does not exist.")
            users = [task.name for task in self._users_in(record, name)]
            if users:
                raise InUseError(
                    f"Connection string '{name}' cannot be deleted: it is used by embeddings task(s) "
                    f"{', '.join(repr(user) for user in users)}. Delete or repoint those tasks first.")
            del strings[name]

        _, etag = self._store.update_record(change)
        self._changed()
        return etag

    # -- embeddings generation tasks ---------------------------------------------------------------

    @classmethod
    def _users_in(cls, record: dict[str, Any], name: str) -> list[EmbeddingsGenerationConfiguration]:
        """Tasks using connection string ``name``: as theirs, or as the one still serving a migration."""
        return [task for task in cls._tasks_in(record) if task.connection_string_name == name
                or _generations_in(record, task.task_id).serving_generation().connection_string_name == name]

    @staticmethod
    def _tasks_in(record: dict[str, Any]) -> list[EmbeddingsGenerationConfiguration]:
        return [parse_task_configuration(stored) for stored in record.get(_TASKS, [])]

    def tasks(self) -> list[EmbeddingsGenerationConfiguration]:
        return list(self._current().tasks)

    def task(self, task_id: int | None = None, name: str | None = None) -> EmbeddingsGenerationConfiguration | None:
        for task in self.tasks():
            if (task_id and task.task_id == task_id) or (name is not None and task.name.lower() == name.lower()):
                return task
        return None

    def _check_task(self, record: dict[str, Any], config: EmbeddingsGenerationConfiguration,
                    replacing: int | None) -> EmbeddingsGenerationConfiguration:
        validate_identifier(config.identifier)
        for other in self._tasks_in(record):
            if other.task_id == replacing:
                continue
            if other.name.lower() == config.name.lower():
                raise ValidationError("Name", f"a task named '{other.name}' already exists")
            if other.identifier == config.identifier:
                raise ValidationError(
                    "Identifier", f"'{config.identifier}' is already the identifier of task '{other.name}'")
        stored = record.get(_CONNECTION_STRINGS, {}).get(config.connection_string_name)
        if stored is None:
            raise ValidationError(
                "ConnectionStringName", f"AI connection string '{config.connection_string_name}' does not exist")
        connection_string = self._open(stored)
        if connection_string.model_type != "TextEmbeddings":
            raise ValidationError(
                "ConnectionStringName",
                f"'{config.connection_string_name}' is a {connection_string.model_type} connection string; "
                "an embeddings task needs a TextEmbeddings one")
        return with_connector(config, connection_string)

    def preview_task(self, data: Any, task_id: int | None) -> tuple[EmbeddingsGenerationConfiguration,
                                                                     AiConnectionString]:
        """Validate ``data`` as adding (``task_id`` None) or updating that task would, without saving
        anything: the task and the connection string it names."""
        config = parse_task_configuration(data)
        record, _ = self._store.record()
        checked = self._check_task(record, config, task_id)
        return checked, self._open(record[_CONNECTION_STRINGS][checked.connection_string_name])

    def add_task(self, data: Any) -> TaskWrite:
        config = parse_task_configuration(data)

        def change(record: dict[str, Any]) -> EmbeddingsGenerationConfiguration:
            task_id = int(record.get(_NEXT_TASK_ID, 1))
            checked = dataclasses.replace(self._check_task(record, config, None), task_id=task_id)
            record[_NEXT_TASK_ID] = task_id + 1
            record.setdefault(_TASKS, []).append(render_task_configuration(checked))
            return checked

        task, etag = self._store.update_record(change)
        self._changed()
        return TaskWrite(task, etag, reset=False)

    def update_task(self, task_id: int, data: Any, reset: bool) -> TaskWrite:
        config = parse_task_configuration(data)

        def change(record: dict[str, Any]) -> EmbeddingsGenerationConfiguration:
            tasks = record.get(_TASKS, [])
            for index, stored in enumerate(tasks):
                if stored.get("TaskId") == task_id:
                    previous = parse_task_configuration(stored)
                    kept = keep_unsent_budget(config, previous, data)
                    checked = dataclasses.replace(self._check_task(record, kept, task_id), task_id=task_id)
                    _migrated(record, previous, checked)
                    tasks[index] = render_task_configuration(checked)
                    return checked
            raise NotFoundError(f"Embeddings generation task {task_id} does not exist.")

        task, etag = self._store.update_record(change)
        self._changed()
        return TaskWrite(task, etag, reset=reset)

    def set_task_disabled(self, task: EmbeddingsGenerationConfiguration, disabled: bool) -> int:
        def change(record: dict[str, Any]) -> None:
            for index, stored in enumerate(record.get(_TASKS, [])):
                if stored.get("TaskId") == task.task_id:
                    record[_TASKS][index] = {**stored, "Disabled": disabled}
                    return
            raise NotFoundError(f"Embeddings generation task {task.task_id} does not exist.")

        _, etag = self._store.update_record(change)
        self._changed()
        return etag

    def delete_task(self, task_id: int) -> int:
        def change(record: dict[str, Any]) -> None:
            tasks = record.get(_TASKS, [])
            remaining = [stored for stored in tasks if stored.get("TaskId") != task_id]
            if len(remaining) == len(tasks):
                raise NotFoundError(f"Embeddings generation task {task_id} does not exist.")
            record[_TASKS] = remaining
            generations = _generations_in(record, task_id)
            if generations.serving is not None:  # the half-built generation goes with the task
                deleted = next(parse_task_configuration(stored) for stored in tasks if stored.get("TaskId") == task_id)
                kept = generations.serving.number
                _add_cleanup(record, SectionCleanup(deleted.collection, deleted.identifier, frozenset({kept}), kept))
            _set_generations(record, task_id, TaskGenerations())

        _, etag = self._store.update_record(change)
        self._changed()
        return etag

    # -- generations -------------------------------------------------------------------------------

    def generations(self, task_id: int) -> TaskGenerations:
        return self._current().generations.get(task_id, TaskGenerations())

    def all_generations(self) -> dict[int, TaskGenerations]:
        return dict(self._current().generations)

    def finish_migration(self, task_id: int, generation: int, ready: Callable[[], bool]) -> bool:
        """Swap: generation ``generation`` of the task serves from now on, if ``ready()`` says (inside
        the record's write transaction, so no write comes between) that it covers every document. The
        old generation's sections are queued for removal. True when swapped. Listeners are not called:
        the caller reloads the workers (it may be one of them)."""

        def change(record: dict[str, Any]) -> bool:
            generations = _generations_in(record, task_id)
            task = next((task for task in self._tasks_in(record) if task.task_id == task_id), None)
            if task is None or generations.serving is None or generations.current != generation or not ready():
                return False
            _set_generations(record, task_id, TaskGenerations(generation, last=generations.last))
            _add_cleanup(record, SectionCleanup(task.collection, task.identifier, frozenset({generation}), generation))
            return True

        swapped, _ = self._store.update_record(change)
        return swapped

    def cleanups(self) -> list[SectionCleanup]:
        record, _ = self._store.record()
        return [SectionCleanup.from_json(item) for item in record.get(_CLEANUPS, [])]

    def cleanup_done(self, cleanup: SectionCleanup) -> None:
        """Forget a finished clean-up (no listener: nothing runs differently)."""

        def change(record: dict[str, Any]) -> None:
            items = record.get(_CLEANUPS, [])
            if cleanup.to_json() in items:
                items.remove(cleanup.to_json())

        self._store.update_record(change)

    def rendered_tasks(self) -> list[dict[str, Any]]:
        record, _ = self._store.record()
        tasks: list[dict[str, Any]] = record.get(_TASKS, [])
        return tasks
