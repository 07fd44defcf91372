"""``vector.search`` on a static index's vector field (``from index 'X' where vector.search(Field, $q)``).

The field is the index's own (``CreateVector``/``LoadVector``); the search term is turned into a vector
the way the field was indexed (RavenDB's rule, so that both sides compare): text is embedded by the
embedded model for a ``Text`` field and by the task's model for a ``LoadVector`` field; a numeric field
takes a vector (array, ``{"@vector": [...]}`` or Base64), or text only through
``embedding.text($text, ai.task('id'))`` with a task of the same model. ``embedding.forDoc($id)`` uses
the vectors indexed for that document. The ``embedding.<form>(Field)`` wrappers a client writes are
accepted: the index field's options decide.

While a task migrates to another model, a ``LoadVector`` field is searched in the index built from the
generation whose model embeds the term: between the task's swap (one record transaction) and its
side-by-side build taking the index's place (a file rename), the query waits for the build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Protocol

import numpy.typing as npt

from rookdb.errors import BadRequestError, InvalidQueryError
from rookdb.indexes.index import Index, IndexRetiredError
from rookdb.indexes.registry import IndexRegistry
from rookdb.indexes.side_by_side import REPLACEMENT_PREFIX
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.indexes.static.vectors import VectorField
from rookdb.indexes.vector.fields import SourceType
from rookdb.indexes.vector.values import query_input
from rookdb.query import ast
from rookdb.query.executor import WholeCollection

__all__ = ["QueryEmbedding", "SearchDefaults", "StaticVectorSearch", "TaskModel", "search_field"]

Vector = npt.NDArray[Any]

# A swap between reading a task's generation and holding its index is noticed: read both again.
_SWAP_RETRIES = 3


class SearchDefaults(Protocol):
    @property
    def minimum_similarity(self) -> float: ...

    @property
    def number_of_candidates(self) -> int: ...

    @property
    def scanning_threshold(self) -> int: ...


class SearchableField(Protocol):
    def search(self, queries: Sequence[Vector], *, minimum_similarity: float, number_of_candidates: int,
               exact: bool, allowed_ids: Sequence[str] | None, scanning_threshold: int) -> dict[str, float]: ...


def search_field(field: SearchableField, vectors: Sequence[Vector], clause: ast.VectorSearch,
                 defaults: SearchDefaults, candidate_ids: Sequence[str], query_text: str) -> dict[str, float]:
    """``{id: similarity}`` of ``field``'s search as ``clause`` asks it, the defaults filling in what the clause
    leaves out; a mismatch between the field and the vectors (dimensions, bits against floats) is the query's
    error."""
    similarity, candidates = clause.minimum_similarity, clause.number_of_candidates
    try:
        return field.search(
            vectors,
            minimum_similarity=defaults.minimum_similarity if similarity is None else similarity,
            number_of_candidates=defaults.number_of_candidates if candidates is None else candidates,
            exact=clause.exact,
            allowed_ids=None if isinstance(candidate_ids, WholeCollection) else candidate_ids,
            scanning_threshold=defaults.scanning_threshold)
    except BadRequestError as error:
        raise InvalidQueryError(f"{clause.to_rql()}: {error.message}", query=query_text) from error


class QueryEmbedding(Protocol):
    """Turns search terms into vectors (the database's vector service)."""

    @property
    def defaults(self) -> SearchDefaults:
        """The configured minimum similarity, candidates and scanning threshold."""
        ...

    def embed_query_text(self, text: str) -> Vector:
        """A search term embedded by the embedded model."""
        ...

    def embed_with_task(self, identifier: str, collection: str | None, text: str) -> list[Vector]:
        """A search term embedded by a task's model (``InvalidQueryError`` for a missing or disabled task)."""
        ...

    def task_model(self, identifier: str) -> TaskModel:
        """The model of task ``identifier``'s serving generation (``InvalidQueryError`` as above)."""
        ...


class TaskModel(Protocol):
    """A task's model and the generation of its embeddings it made, read together."""

    @property
    def generation(self) -> int: ...

    def embed(self, text: str) -> list[Vector]:
        """A search term embedded by this model, through the task's cache."""
        ...


class StaticVectorSearch:
    """The ``VectorSearchHook`` of a query on a named index."""

    def __init__(self, query: ast.Query, indexes: IndexRegistry, embedding: QueryEmbedding) -> None:
        self._query = query
        self._indexes = indexes
        self._embedding = embedding
        self._text = query.to_rql()

    def __call__(self, clause: ast.VectorSearch, parameters: Mapping[str, Any],
                 candidate_ids: Sequence[str]) -> dict[str, float]:
        with ExitStack() as held:
            field, model = self._field(clause, held)
            if field is None:  # a vector field no document has given a vector yet
                return {}
            vectors = self._query_vectors(clause, field, parameters, model)
            if not vectors:
                return {}
            return search_field(field, vectors, clause, self._embedding.defaults, candidate_ids, self._text)

    def _field(self, clause: ast.VectorSearch, held: ExitStack) -> tuple[VectorField | None, TaskModel | None]:
        """The clause's field, and for a ``LoadVector`` field the task model that embeds its search terms,
        from the index holding that model's generation (held open in ``held``)."""
        name = self._query.source.name or ""
        field = self._vector_field(clause, self._indexes.get(name))
        if field is None or field.task is None:
            return field, None
        try:
            model = self._embedding.task_model(field.task)
        except InvalidQueryError:  # a disabled task: its vectors can still be searched by vector or document
            return field, None
        for _ in range(_SWAP_RETRIES):
            with ExitStack() as holding:
                index = self._index_of(name, field.task, model.generation, holding)
                again = self._embedding.task_model(field.task)
                if again.generation == model.generation:
                    held.enter_context(holding.pop_all())
                    return self._vector_field(clause, index), model
                model = again
        return self._vector_field(clause, self._index_of(name, field.task, model.generation, held)), model

    def _index_of(self, name: str, task: str, generation: int, holding: ExitStack) -> Index | None:
        """The index ``name`` holding ``generation`` of task ``task``'s embeddings, held open in ``holding``.
        Once the task has swapped to ``generation``, its side-by-side build is that index even before it
        takes the name: wait for it, as listings wait for a swapped index's successor."""
        index = self._indexes.get(name)
        while index is not None:
            build = self._indexes.get(REPLACEMENT_PREFIX + name)
            if build is not None and build.store.staged_for == (task.lower(), generation):
                index = self._indexes.successor(name, index)
                continue
            try:
                holding.enter_context(index.in_use())
                return index
            except IndexRetiredError:  # put in place of, or deleted, meanwhile
                index = self._indexes.successor(name, index)
        return None

    def _vector_field(self, clause: ast.VectorSearch, index: Index | None) -> VectorField | None:
        name = self._query.source.name or ""
        definition = None if index is None else index.definition
        field_name = clause.field.path.to_rql()
        if not isinstance(definition, StaticIndexDefinition) or index is None:
            raise InvalidQueryError(f"{clause.to_rql()}: index '{name}' has no vector fields", query=self._text)
        definition.vectors.ensure_loaded(index.store.path)
        field = definition.vectors.field(field_name)
        if field is None and definition.declares_vector(field_name):
            return None
        if field is None:
            known = ", ".join(sorted(definition.vectors.names())) or "none yet"
            raise InvalidQueryError(
                f"{clause.to_rql()}: '{field_name}' is not a vector field of index '{definition.name}' (its vector "
                f"fields: {known}); vector fields are made with CreateVector or LoadVector", query=self._text)
        return field

    def _query_vectors(self, clause: ast.VectorSearch, field: VectorField, parameters: Mapping[str, Any],
                       model: TaskModel | None) -> list[Vector]:
        query = clause.query
        if isinstance(query, ast.ForDoc):
            doc_id = _resolve(query.doc_id, parameters)
            if not isinstance(doc_id, str):
                raise InvalidQueryError(f"{clause.to_rql()}: embedding.forDoc needs a document id (a string), got "
                                        f"{doc_id!r}", query=self._text)
            return field.vectors_of(doc_id)
        if isinstance(query, ast.TextWithTask):
            text, identifier = _resolve(query.text, parameters), _resolve(query.task, parameters)
            if not isinstance(text, str) or not text.strip() or not isinstance(identifier, str):
                raise InvalidQueryError(
                    f"{clause.to_rql()}: embedding.text(text, ai.task(id)) needs a non-empty text and a task "
                    f"identifier, got {text!r} and {identifier!r}", query=self._text)
            return self._embedding.embed_with_task(identifier, None, text)
        value = _resolve(query, parameters)
        source = SourceType.TEXT if field.task is not None else field.source
        if field.numeric and isinstance(value, str) and not _looks_base64(value):
            raise InvalidQueryError(
                f"{clause.to_rql()}: field '{field.name}' holds numeric vectors ({field.source.value}); search it "
                "with a vector, or embed the text with a task of the same model: "
                f"vector.search({field.name}, embedding.text($text, ai.task('task-id')))", query=self._text)
        try:
            wanted = query_input(value, source)
        except BadRequestError as error:
            raise InvalidQueryError(f"{clause.to_rql()}: {error.message}", query=self._text) from error
        vectors = list(wanted.vectors)
        for text in wanted.texts:
            if model is not None:
                vectors.extend(model.embed(text))
            elif field.task is not None:
                vectors.extend(self._embedding.embed_with_task(field.task, None, text))
            else:
                vectors.append(self._embedding.embed_query_text(text))
        return vectors


def _resolve(value: ast.Literal | ast.Parameter, parameters: Mapping[str, Any]) -> Any:
    return parameters.get(value.name) if isinstance(value, ast.Parameter) else value.value


def _looks_base64(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and len(stripped) % 4 == 0 and " " not in stripped and all(
        character.isalnum() or character in "+/=" for character in stripped)
