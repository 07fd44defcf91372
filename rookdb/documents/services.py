"""A database and the services built around it: the unit the catalog opens and closes."""

from __future__ import annotations

from dataclasses import dataclass

from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, BackgroundService, stop_all
from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.documents.embeddings_tasks import EmbeddingsTasks
from rookdb.documents.expiration import DocumentExpirer
from rookdb.documents.indexing import IndexingService
from rookdb.documents.vector_search import VectorSearchService

__all__ = ["DatabaseServices"]


@dataclass(frozen=True)
class DatabaseServices:
    """One open database with its services, composed by ``DatabaseCatalog`` (the only place that
    builds them, and the one that wires them to each other).

    - ``database``: documents, the change feed, HiLo and the database record;
    - ``ai``: the AI part of the record (connection strings, embeddings tasks);
    - ``embeddings``: the embeddings tasks at work, one worker per enabled task;
    - ``indexes``: the database's indexes (auto-indexes for dynamic queries) and their indexing thread;
    - ``vectors``: the vector fields of vector auto-indexes, their indexing thread and the embedding
      of search terms;
    - ``expiration``: the deletion of documents whose ``@expires`` has passed.
    """

    database: Database
    ai: AiRecord
    embeddings: EmbeddingsTasks
    indexes: IndexingService
    vectors: VectorSearchService
    expiration: DocumentExpirer

    @property
    def name(self) -> str:
        return self.database.name

    @property
    def background(self) -> tuple[BackgroundService, ...]:
        """The background services in start order."""
        return (self.indexes, self.vectors, self.embeddings, self.expiration)

    def start(self) -> None:
        """Start every service; each resumes from the position it stored."""
        for service in self.background:
            service.start()

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every service at once, each within ``timeout`` (see ``BackgroundService.stop``); True
        when all stopped in time."""
        return stop_all(self.background, drain=drain, timeout=timeout)
