"""A database's indexes as a background service: the registry of its index files and the thread
that keeps them current from the change feed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, LoopingService
from rookdb.documents.database import Database
from rookdb.errors import IndexNotFoundError, RookError
from rookdb.indexes.describe import definition_json, errors_json, stats_json
from rookdb.indexes.index import Index
from rookdb.indexes.registry import IndexingConfig, IndexRegistry

__all__ = ["DEFAULT_IDLE_INTERVAL_SECONDS", "INDEXES_FOLDER", "IndexingService"]

INDEXES_FOLDER = "indexes"
"""Index files live in this folder of the database's folder (node-local, beside the vector indexes)."""
DEFAULT_IDLE_INTERVAL_SECONDS = 5.0
"""With nothing to index, the thread still looks this often (retries after an error's backoff)."""

logger = logging.getLogger("rookdb.indexing")


class IndexingService:
    """The database's ``IndexRegistry`` and its indexing thread (a ``BackgroundService``)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._config = IndexingConfig(batch_size=int(database.settings["Indexing.MapBatchSize"]))
        self._registry: IndexRegistry | None = None
        self._loop = LoopingService(f"rookdb-indexing-{database.name}", self._step,
                                    idle_interval=DEFAULT_IDLE_INTERVAL_SECONDS, log=logger)

    @property
    def name(self) -> str:
        return f"indexing of {self._database.name}"

    @property
    def registry(self) -> IndexRegistry:
        """The indexes (opened by ``start``)."""
        if self._registry is None:
            raise RookError(f"The indexes of database '{self._database.name}' are not open")
        return self._registry

    def start(self) -> None:
        """Open every index file (each resumes from its checkpoint) and start following the change feed."""
        if self._registry is None:
            self._registry = IndexRegistry.open(self._database.directory / INDEXES_FOLDER, self._database.storage,
                                                self._config)
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop after the batch in flight (it commits with its checkpoint), then close the files."""
        stopped = self._loop.stop(drain=drain, timeout=timeout)
        if stopped and self._registry is not None:
            self._registry.close()
            self._registry = None
        return stopped

    def _step(self) -> bool:
        return self.registry.step()

    # ---------------------------------------------------------------- what clients read and do

    def listing(self, vector_fields: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        """Every index as ``GET /indexes`` lists it. ``vector_fields`` are the vector service's listing:
        an auto-index with vector fields takes their options, staleness and errors from it."""
        vectors = {entry["Name"].lower(): entry for entry in vector_fields}
        listed = []
        for index in self.registry.indexes():
            described = definition_json(index, self._database.storage)
            extra = vectors.get(index.name.lower())
            if extra is not None:
                described["Fields"].update({name: options for name, options in extra["Fields"].items()
                                            if options.get("Vector") is not None})
                described["IsStale"] = described["IsStale"] or extra["IsStale"]
                described["ErrorsCount"] += extra["ErrorsCount"]
                described["Errors"] += extra["Errors"]
            listed.append(described)
        return listed

    def statistics(self, name: str | None) -> list[dict[str, Any]]:
        """``IndexStats`` of one index, or of every index."""
        indexes = [self._named(name)] if name is not None else self.registry.indexes()
        return [stats_json(index, self._database.storage) for index in indexes]

    def errors(self, names: Sequence[str], vector_fields: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        """``IndexErrors`` of the named indexes (every index when ``names`` is empty)."""
        indexes = [self._named(name) for name in names] if names else self.registry.indexes()
        vectors = {entry["Name"].lower(): entry for entry in vector_fields}
        found = []
        for index in indexes:
            listed = errors_json(index)
            listed["Errors"] += vectors.get(index.name.lower(), {}).get("Errors", [])
            found.append(listed)
        return found

    def clear_errors(self, names: Sequence[str]) -> None:
        for index in [self._named(name) for name in names] if names else self.registry.indexes():
            index.store.clear_errors()

    def delete(self, name: str) -> None:
        """Delete an index (``IndexNotFoundError`` when there is none)."""
        if not self.registry.delete(name):
            raise IndexNotFoundError(f"Index '{name}' does not exist.")

    def reset(self, name: str) -> None:
        """Rebuild an index from the start of the change feed."""
        if self.registry.reset(name) is None:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
        self.wake()

    def _named(self, name: str) -> Index:
        index = self.registry.get(name)
        if index is None:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
        return index
