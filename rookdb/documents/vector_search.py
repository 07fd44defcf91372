"""Vector search in a database: auto-indexes kept current by a worker, and the executor's hook.

The service owns the database's vector auto-indexes (``rookdb.indexes.vector.auto_indexes``) and the
thread that follows the change feed into them. For each query it resolves what the query layer may
not know about: embeddings generation tasks and their connection strings, the embedded model that
embeds ``embedding.text(Field)`` at index and query time (as RavenDB uses its built-in model), and
the ``QueryEmbedder`` that embeds search terms through a task's provider and cache.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embedded_model import EmbeddedModel, EmbeddedModelConfig, get_embedded_model
from rookdb.ai.embeddings import QueryEmbedder, task_vectors
from rookdb.ai.embeddings.layout import section_fingerprint
from rookdb.ai.task_config import EmbeddingsGenerationConfiguration
from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, Foreground, LoopingService, ProviderLoop
from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.errors import BadRequestError, InvalidQueryError, RookError
from rookdb.indexes.static.vectors import VectorSources
from rookdb.indexes.vector.auto_indexes import AutoIndexConfig, AutoIndexDefinition, AutoIndexes
from rookdb.indexes.vector.field_index import FieldIndex, GraphSettings
from rookdb.indexes.vector.fields import VectorFieldSpec
from rookdb.indexes.vector.values import query_input
from rookdb.indexes.vector.vectorizer import DocumentVectorizer
from rookdb.inline import refuse_to_wait
from rookdb.query import ast
from rookdb.query.executor import VectorSearchHook
from rookdb.query.index_names import (
    fields_follow_parameters,
    index_fields,
    index_name,
    vector_field_spec,
    vector_field_specs,
)
from rookdb.query.named_vectors import search_field

__all__ = [
    "DEFAULT_NEW_INDEX_WAIT_SECONDS",
    "PreparedVectorQuery",
    "VectorSearchService",
]

# RavenDB lets a query that created an auto-index wait this long for its first results.
DEFAULT_NEW_INDEX_WAIT_SECONDS = 15.0
# Repeated search terms skip the embedded model.
DEFAULT_QUERY_TEXT_CACHE_SIZE = 256
# Parsed queries whose auto-index definition is remembered (see ``VectorSearchService._wanted``).
DEFAULT_REMEMBERED_QUERIES = 1024
# The latest search terms of each task embedded by a migration's new model before it swaps in.
DEFAULT_WARMED_TERMS = 64
_INDEXES_FOLDER = "indexes"
# Finding a task field's index again after its generation was swapped out under the query.
_SWAP_RETRIES = 3

logger = logging.getLogger("rookdb.indexing")

Vector = npt.NDArray[Any]


@dataclass(frozen=True)
class PreparedVectorQuery:
    """What ``run_query`` needs: the hook scoring vector clauses, and whether the index lags."""

    hook: VectorSearchHook
    index: AutoIndexDefinition
    stale: bool


@dataclass(frozen=True)
class _SearchDefaults:
    minimum_similarity: float
    number_of_candidates: int
    scanning_threshold: int

    @classmethod
    def of(cls, database: Database) -> _SearchDefaults:
        settings = database.settings
        return cls(
            float(settings["Indexing.Corax.VectorSearch.DefaultMinimumSimilarity"]),
            int(settings["Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForQuerying"]),
            int(settings["Indexing.Corax.VectorSearch.VectorSearchScanningThreshold"]),
        )


class VectorSearchService:
    """A database's vector auto-indexes and their indexing thread (a ``BackgroundService``).

    ``model`` replaces the process-wide embedded model (tests gate or count its calls); the index of a
    task generation built side by side yields to the requests ``foreground`` counts.
    """

    def __init__(self, database: Database, ai: AiRecord, provider_loop: ProviderLoop, *,
                 model: EmbeddedModel | None = None, foreground: Foreground | None = None) -> None:
        self._database = database
        self._foreground = foreground
        self._ai = ai
        self._provider_loop = provider_loop
        self._model = model
        self._query_embedder: QueryEmbedder | None = None
        self._defaults = _SearchDefaults.of(database)
        settings = database.settings
        graph = GraphSettings(m=int(settings["Indexing.Corax.VectorSearch.DefaultNumberOfEdges"]),
                              ef_construction=int(settings["Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForIndexing"]))
        self._config = AutoIndexConfig(graph=graph)
        self._indexes: AutoIndexes | None = None
        self._indexing = LoopingService(f"rookdb-vectors-{database.name}", self._index_step,
                                        idle_interval=self._config.save_interval, log=logger)
        self._lock = threading.Lock()
        self._texts: OrderedDict[str, Vector] = OrderedDict()
        self._recent_terms: dict[str, OrderedDict[str, None]] = {}
        """Task identifier → its latest search terms (``warm_queries``)."""
        self._wanted_by_query: dict[int, tuple[ast.Query, AutoIndexDefinition]] = {}
        """Parsed queries (by identity, kept alive here so that it stays theirs) and their auto-index."""

    # ---------------------------------------------------------------- lifecycle

    @property
    def name(self) -> str:
        return f"vector indexing of {self._database.name}"

    def start(self) -> None:
        """Open the auto-indexes (each resumes from its saved checkpoint) and start indexing."""
        vectorizer = DocumentVectorizer(self._embed_texts, self._generation_vectors, section_fingerprint)
        self._indexes = AutoIndexes.open(self._database.directory / _INDEXES_FOLDER, self._database.storage,
                                         vectorizer, self._config, wake=self._indexing.wake,
                                         generations=self._live_generations, pace=self._pace)
        self._indexing.start()

    def wake(self) -> None:
        """Follow the change feed now (after a committed write)."""
        self._indexing.wake()

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Finish the indexing step in progress, save every index and release the query providers."""
        stopped = self._indexing.stop(drain=drain, timeout=timeout)
        if self._indexes is not None:
            self._indexes.save(force=True)
        if self._query_embedder is not None:
            self._query_embedder.close()
        return stopped

    def _pace(self) -> None:
        if self._foreground is not None:
            self._foreground.yield_to()

    def _index_step(self) -> bool:
        """One page of the change feed into every auto-index; True while there is more to index."""
        indexes = self.indexes
        busy = indexes.index_step()
        indexes.save(idle=not busy)
        return busy

    @property
    def indexes(self) -> AutoIndexes:
        if self._indexes is None:
            raise RookError(f"Vector search of database '{self._database.name}' is not started")
        return self._indexes

    # ---------------------------------------------------------------- queries

    def prepare(self, query: ast.Query, parameters: Mapping[str, Any], wait: float | None,
                last_etag: int | None = None) -> PreparedVectorQuery:
        """Find or create the query's auto-index and wait for it as asked.

        ``wait`` is the client's ``WaitForNonStaleResultsTimeout`` (None when it did not ask); a query
        that creates the index waits up to ``DEFAULT_NEW_INDEX_WAIT_SECONDS`` anyway, as RavenDB does.
        ``last_etag`` is the database's as the query read it already (None: read it here).
        """
        wanted = self._wanted(query, parameters)
        self._check_tasks(wanted.vector_fields)  # before creating an index that could never be queried
        definition, created = self.indexes.ensure(wanted)
        timeout = wait if wait is not None else (DEFAULT_NEW_INDEX_WAIT_SECONDS if created else 0.0)
        if timeout > 0:
            refuse_to_wait("waiting for the vector index")
            current = self.indexes.wait_until_current(definition, timeout)
        else:
            current = not self.indexes.is_stale(definition, last_etag)
        return PreparedVectorQuery(_ClauseSearch(self, query), definition, stale=not current)

    def _wanted(self, query: ast.Query, parameters: Mapping[str, Any]) -> AutoIndexDefinition:
        """The auto-index ``query`` needs; remembered for a parsed query (the parser shares them by text)
        whose fields no parameter names."""
        known = self._wanted_by_query.get(id(query))
        if known is not None and known[0] is query:
            return known[1]
        specs = tuple(vector_field_specs(query, parameters))
        wanted = AutoIndexDefinition(index_name(query, parameters), query.source.name or "",
                                     tuple(index_fields(query, parameters)), specs)
        if not fields_follow_parameters(query):
            with self._lock:
                if len(self._wanted_by_query) >= DEFAULT_REMEMBERED_QUERIES:
                    self._wanted_by_query.clear()
                self._wanted_by_query[id(query)] = (query, wanted)
        return wanted

    def _check_tasks(self, specs: Sequence[VectorFieldSpec]) -> None:
        """Every task a field names exists, is enabled and embeds that field (checked on every query)."""
        for spec in specs:
            if spec.task is not None:
                task, _ = self.task(spec.task, spec.collection)
                _check_task_path(task, spec)

    def describe(self) -> list[dict[str, Any]]:
        """The auto-indexes as ``GET /indexes`` lists them."""
        return self.indexes.describe()

    @property
    def defaults(self) -> _SearchDefaults:
        return self._defaults

    # ---------------------------------------------------------------- embeddings

    def vector_sources(self) -> VectorSources:
        """The embedded model and the tasks' stored embeddings, for static indexes' vector fields."""
        return VectorSources(self._embed_texts, self._task_vectors, self._generation_vectors)

    def _embedded_model(self) -> EmbeddedModel:
        if self._model is None:
            threads = int(self._database.settings["Ai.Embeddings.LocalModelThreads"])
            self._model = get_embedded_model(EmbeddedModelConfig(intra_op_threads=threads))
        return self._model

    def _embed_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._embedded_model().embed(texts)

    def embed_query_text(self, text: str) -> Vector:
        """A search term embedded by the embedded model (recent terms are remembered)."""
        with self._lock:
            cached = self._texts.get(text)
            if cached is not None:
                self._texts.move_to_end(text)
                return cached
        refuse_to_wait("embedding a search term")
        vector: Vector = self._embedded_model().embed([text])[0]
        with self._lock:
            self._texts[text] = vector
            while len(self._texts) > DEFAULT_QUERY_TEXT_CACHE_SIZE:
                self._texts.popitem(last=False)
        return vector

    def embed_with_task(self, identifier: str, collection: str | None, text: str,
                        serving: _Serving | None = None) -> list[Vector]:
        """A search term embedded by the model of a task's serving generation, through the embeddings
        cache (``serving``: as resolved already for the clause)."""
        refuse_to_wait("embedding a search term with a task's model")
        resolved = serving if serving is not None else self.serving(identifier, collection)
        task, connection_string = resolved.task, resolved.connection_string
        with self._lock:
            terms = self._recent_terms.setdefault(identifier, OrderedDict())
            terms[text] = None
            terms.move_to_end(text)
            while len(terms) > DEFAULT_WARMED_TERMS:
                terms.popitem(last=False)
        return list(self._embedder().embed(connection_string, task, text))

    def warm_queries(self, identifier: str) -> None:
        """Embed task ``identifier``'s latest search terms with the task's own connection string (the
        model of the generation a migration is about to swap in), so that the first queries after the
        swap find them in the cache instead of calling the provider. Best effort: a failure is logged."""
        with self._lock:
            terms = list(self._recent_terms.get(identifier, ()))
        if not terms:
            return
        try:
            task, connection_string = self.task(identifier, None)
            self._embedder().embed_many(connection_string, task, terms)
        except RookError as error:
            logger.warning("Embedding the latest search terms of task '%s' with its new model failed: %s",
                           identifier, error.message)

    def _embedder(self) -> QueryEmbedder:
        with self._lock:
            if self._query_embedder is None:
                self._query_embedder = QueryEmbedder(self._database.storage, self._database.settings,
                                                     self._provider_loop)
            return self._query_embedder

    def task_model(self, identifier: str) -> _TaskModel:
        """The model of task ``identifier``'s serving generation, with that generation (static indexes
        search the index built from it)."""
        return _TaskModel(self, self.serving(identifier, None))

    def generation_current(self, identifier: str, generation: int) -> bool:
        """True when every vector auto-index of task ``identifier`` has indexed ``generation``."""
        return self._indexes is None or self._indexes.generation_current(identifier, generation)

    def _live_generations(self, identifier: str) -> tuple[int, ...]:
        found = next((task for task in self._ai.tasks() if task.identifier == identifier), None)
        return (0,) if found is None else self._ai.generations(found.task_id).live()

    def serving(self, identifier: str, collection: str | None) -> _Serving:
        """The enabled task ``identifier``, the connection string of its serving generation and that
        generation, read together (a swap between two reads would pair a model with the other
        generation's vectors); ``InvalidQueryError`` when the task cannot be searched."""
        task, _ = self.task(identifier, collection)
        generation = self._ai.generations(task.task_id).serving_generation()
        if generation.connection_string_name is None:
            _, connection_string = self.task(identifier, collection)
        else:
            found = self._ai.connection_string(generation.connection_string_name)
            if found is None:
                raise InvalidQueryError(
                    f"ai.task('{identifier}'): the connection string '{generation.connection_string_name}' "
                    f"serving task '{task.name}' while it migrates does not exist.")
            connection_string = found
        return _Serving(task, connection_string, generation.number)

    def task(self, identifier: str, collection: str | None
             ) -> tuple[EmbeddingsGenerationConfiguration, AiConnectionString]:
        """The enabled task ``identifier`` and its connection string; ``InvalidQueryError`` otherwise."""
        tasks = self._ai.tasks()
        found = next((task for task in tasks if task.identifier == identifier), None)
        if found is None:
            known = ", ".join(sorted(f"'{task.identifier}'" for task in tasks)) or "none"
            raise InvalidQueryError(
                f"ai.task('{identifier}'): database '{self._database.name}' has no embeddings generation task with "
                f"that identifier (tasks: {known}). Create it with AddEmbeddingsGenerationOperation, or use the "
                "identifier of an existing task (not its name).")
        if found.disabled:
            raise InvalidQueryError(
                f"ai.task('{identifier}'): the embeddings generation task '{found.name}' is disabled; enable it "
                "(ToggleOngoingTaskStateOperation) to search with its embeddings.")
        if collection is not None and found.collection.lower() != collection.lower():
            raise InvalidQueryError(
                f"ai.task('{identifier}'): task '{found.name}' embeds documents of '{found.collection}', not "
                f"'{collection}'; query 'from {found.collection}' or use a task of '{collection}'.")
        connection_string = self._ai.connection_string(found.connection_string_name)
        if connection_string is None:
            raise InvalidQueryError(
                f"ai.task('{identifier}'): the connection string '{found.connection_string_name}' of task "
                f"'{found.name}' does not exist.")
        return found, connection_string

    def _task_vectors(self, collection: str, identifier: str, source_id: str, field: str) -> list[Vector]:
        return self._generation_vectors(collection, identifier, self._live_generations(identifier)[0], source_id,
                                        field)

    def _generation_vectors(self, collection: str, identifier: str, generation: int, source_id: str, field: str
                            ) -> list[Vector]:
        pairs = task_vectors(self._database.storage, collection, identifier, source_id, field, generation)
        return [vector for _, vector in pairs]


@dataclass(frozen=True)
class _Serving:
    """What a clause on a task's field reads: the task, its serving connection string and generation."""

    task: EmbeddingsGenerationConfiguration
    connection_string: AiConnectionString
    generation: int


@dataclass(frozen=True)
class _TaskModel:
    """A ``TaskModel`` of the query layer: embeds search terms as the serving generation was made."""

    service: VectorSearchService
    serving: _Serving

    @property
    def generation(self) -> int:
        return self.serving.generation

    def embed(self, text: str) -> list[Vector]:
        return self.service.embed_with_task(self.serving.task.identifier, None, text, self.serving)


class _ClauseSearch:
    """The ``VectorSearchHook`` of one query: resolves each clause's query vectors and searches its field."""

    def __init__(self, service: VectorSearchService, query: ast.Query) -> None:
        self._service = service
        self._query = query
        self._text = _rql_text(query)

    def __call__(self, clause: ast.VectorSearch, parameters: Mapping[str, Any],
                 candidate_ids: Sequence[str]) -> dict[str, float]:
        source = self._query.source
        spec = vector_field_spec(clause.field, source.name or "", source.alias, parameters)
        serving, field = self._field(spec)
        vectors = self._query_vectors(clause, spec, field, parameters, serving)
        if not vectors:
            return {}
        return search_field(field, vectors, clause, self._service.defaults, candidate_ids, self._text)

    def _field(self, spec: VectorFieldSpec) -> tuple[_Serving | None, FieldIndex]:
        """The index to search and, for a task's field, the generation it holds (a swap between reading
        the generation and finding its index is noticed: the index is gone, so read again)."""
        indexes = self._service.indexes
        if spec.task is None:
            return None, indexes.field(spec)
        for _ in range(_SWAP_RETRIES):
            serving = self._service.serving(spec.task, spec.collection)
            try:
                return serving, indexes.field(spec, serving.generation)
            except InvalidQueryError:
                continue
        serving = self._service.serving(spec.task, spec.collection)
        return serving, indexes.field(spec, serving.generation)

    def _query_vectors(self, clause: ast.VectorSearch, spec: VectorFieldSpec, field: FieldIndex,
                       parameters: Mapping[str, Any], serving: _Serving | None) -> list[Vector]:
        query = clause.query
        if isinstance(query, ast.ForDoc):
            doc_id = _resolve(query.doc_id, parameters)
            if doc_id is None:
                raise InvalidQueryError(_for_doc_null_message(clause, self._query), query=self._text)
            if not isinstance(doc_id, str):
                raise InvalidQueryError(
                    f"{clause.to_rql()}: embedding.forDoc needs a document id (a string), got {doc_id!r}",
                    query=self._text)
            return field.vectors_of(doc_id)
        if isinstance(query, ast.TextWithTask):
            text, identifier = _resolve(query.text, parameters), _resolve(query.task, parameters)
            if not isinstance(text, str) or not text.strip() or not isinstance(identifier, str):
                raise InvalidQueryError(
                    f"{clause.to_rql()}: embedding.text(text, ai.task(id)) needs a non-empty text and a task "
                    f"identifier, got {text!r} and {identifier!r}", query=self._text)
            return self._service.embed_with_task(identifier, None, text)
        try:
            wanted = query_input(_resolve(query, parameters), spec.source)
        except BadRequestError as error:
            raise InvalidQueryError(f"{clause.to_rql()}: {error.message}", query=self._text) from error
        vectors = list(wanted.vectors)
        for text in wanted.texts:
            if spec.task is not None:
                vectors.extend(self._service.embed_with_task(spec.task, spec.collection, text, serving))
            else:
                vectors.append(self._service.embed_query_text(text))
        return vectors


_rql_texts: dict[int, tuple[ast.Query, str]] = {}
"""Parsed queries (by identity, kept alive here so that it stays theirs) and their RQL, which names the
query in its errors: the parser shares a parsed query between requests of the same text."""


def _rql_text(query: ast.Query) -> str:
    known = _rql_texts.get(id(query))
    if known is not None and known[0] is query:
        return known[1]
    text = query.to_rql()
    if len(_rql_texts) >= DEFAULT_REMEMBERED_QUERIES:
        _rql_texts.clear()
    _rql_texts[id(query)] = (query, text)
    return text


def _resolve(value: ast.Literal | ast.Parameter, parameters: Mapping[str, Any]) -> Any:
    return parameters.get(value.name) if isinstance(value, ast.Parameter) else value.value


def _check_task_path(task: EmbeddingsGenerationConfiguration, spec: VectorFieldSpec) -> None:
    paths = [configuration.path for configuration in task.embeddings_path_configurations]
    wanted = ".".join(spec.path)
    if paths and wanted not in paths:
        raise InvalidQueryError(
            f"ai.task('{task.identifier}'): task '{task.name}' embeds {', '.join(paths)} of {task.collection}, "
            f"not {wanted}; search one of those fields.")


def _for_doc_null_message(clause: ast.VectorSearch, query: ast.Query) -> str:
    field = clause.field.to_rql()
    collection = query.source.name or "Products"
    return (
        f"{clause.to_rql()}: embedding.forDoc() was given a null document id. The official Python client "
        "(ravendb 7.2.x) never binds the id in vector_search_text_for_document and "
        "vector_search_with_field_for_document, so the server receives null. Work around it with a raw query: "
        f"session.advanced.raw_query(\"from '{collection}' where vector.search({field}, embedding.forDoc($id))\")"
        ".add_parameter(\"id\", \"<document id>\")."
    )
