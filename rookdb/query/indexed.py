"""Answering a query from an index: documents that do not match are never read, and only the
returned page's documents are loaded.

Without scores, the index counts the matches and returns the page: in document order, or for
``order by`` by walking the first key's sorted values until the page is full (ties, and any further
keys, are sorted among the documents read) — or, when few documents match or the first key cannot be
walked (``alphaNumeric``, ``random()``), by sorting the matches on the values the index holds.
With scores (``search()``, ``vector.search``, ``score()``), every match is scored
(``rookdb.query.scoring``) and ordered by score unless ``order by`` says otherwise.

The results equal those of scanning the collection: the same matches, in the same order, ties in
the order documents were last written.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from rookdb.indexes import plan
from rookdb.indexes.reader import IndexReader
from rookdb.query import ast
from rookdb.query.bindings import Bindings
from rookdb.query.deadline import NO_DEADLINE, Deadline
from rookdb.query.ordering import sort_in_place, sort_key
from rookdb.query.planner import Planner
from rookdb.query.results import Row, distinct_rows, render
from rookdb.query.scoring import Scorer
from rookdb.query.vector_clauses import DocumentSource, WholeCollection, load_documents

__all__ = ["DEFAULT_FULL_SORT_LIMIT", "BatchSource", "IndexShape", "VectorScorer", "answer", "walked_order"]

DEFAULT_FULL_SORT_LIMIT = 256
"""Up to this many matches, ``order by`` sorts them all instead of walking the index's order."""

VectorScorer = Callable[[ast.VectorSearch, Mapping[str, Any], Sequence[str]], dict[str, float]]


def _never(field: str) -> bool:
    return False


@dataclass(frozen=True)
class IndexShape:
    """What a queried index offers besides matching (static indexes): its results when it stores them
    whole (map-reduce), the fields it stores for projections, the fields it compares exactly, the
    fields whose words ``lucene()`` and ``fuzzy()`` match (None: no such field)."""

    results_stored: bool = False
    stored_fields: frozenset[str] = frozenset()
    is_exact: Callable[[str], bool] = _never
    is_analyzed: Callable[[str], bool] | None = None


_PLAIN = IndexShape()


class BatchSource(DocumentSource, Protocol):
    """A source that also loads many documents at once (the page of an indexed query)."""

    def get_documents(self, doc_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """Documents by id, aligned with ``doc_ids`` (None for a missing one)."""
        ...


def answer(query: ast.Query, bindings: Bindings, reader: IndexReader, source: DocumentSource, *, skip: int,
           take: int | None, vector_search: VectorScorer | None, order_by_score: bool,
           fusion: str | None, shape: IndexShape = _PLAIN, deadline: Deadline = NO_DEADLINE
           ) -> tuple[list[Row], int]:
    """The page of results and the total number of matches; ``RequestTimeoutError`` past ``deadline``."""
    planner = Planner(bindings, shape.is_exact, shape.is_analyzed)
    where = query.where
    scored = where is not None and bool(where.nodes_of((ast.Search, ast.VectorSearch)))
    needs_scores = scored or any(isinstance(order.target, ast.ScoreOrder) for order in query.order_by)
    distinct = query.select is not None and query.select.distinct
    end = None if take is None else skip + take
    scores: dict[int, float] | None = None
    joined = _reads_with_documents(reader, source, query.select, shape, bindings)
    bodies: dict[int, bytes | None] | None = None
    searched = _lone_search(where, bindings) if scored and order_by_score and not query.order_by else None
    if searched is not None and not distinct:
        # One search() ranks and cuts its page in SQL: only the page's scores reach Python.
        search, boost = searched
        page, total = reader.ranked(planner.full_text(search), boost, skip, take)
        scores = dict(page)
        window = [doc for doc, _ in page]
    elif needs_scores:
        vectors = _vector_scores(query, bindings, planner, reader, source, vector_search)
        scorer = Scorer(reader, planner, bindings, vectors, fusion)
        scores = scorer.scores(where) if where is not None else dict.fromkeys(
            reader.documents(plan.Everything()), 1.0)
        documents = sorted(scores)
        if query.order_by:
            _sort(documents, query.order_by, reader, bindings, scores)
        elif scored and order_by_score:
            documents.sort(key=lambda doc: scores[doc] if scores else 0.0, reverse=True)
        total = len(documents)
        window = documents if distinct else documents[skip:end]
    else:
        condition = planner.condition(where) if where is not None else plan.Everything()
        if query.order_by or distinct:
            total = reader.count(condition)
            bodies = {} if joined else None
            window = _ordered(reader, condition, query.order_by, planner, bindings, 0 if distinct else skip,
                              None if distinct else take, total, bodies)
            bodies = bodies or None  # nothing walked (or not read with the walk): read the page's own
        else:
            if joined:
                read = reader.page(condition, skip, take)
                window = [doc for doc, _ in read]
                bodies = dict(read)
            else:
                window = reader.documents(condition, skip, take)
            # A page that ends before its size shows the total; only a full (or skipped-past) one needs a count.
            complete = (take is None or len(window) < take) and (window or skip == 0)
            total = skip + len(window) if complete else reader.count(condition)
    deadline.check()
    if joined:
        loaded = [(doc, orjson.loads(body)) for doc, body in _with_bodies(reader, window, bodies)]
    else:
        loaded = _load(reader, source, window, query.select, shape, bindings)
    rows = [render(doc, scores[number] if scores is not None and needs_scores else None, query.select, bindings)
            for number, doc in deadline.paced(loaded)]
    if distinct:
        rows = distinct_rows(rows)
        return rows[skip:end], len(rows)
    return rows, total


def _lone_search(where: ast.Expr | None, bindings: Bindings) -> tuple[ast.Search, float] | None:
    """The ``search()`` a ``where`` consists of (boosts around it allowed) and the boost's factor."""
    boost = 1.0
    while isinstance(where, ast.Boost):
        boost *= bindings.number(where.factor, "boost")
        where = where.expr
    return (where, boost) if isinstance(where, ast.Search) else None


def walked_order(query: ast.Query, bindings: Bindings) -> plan.SortKey | None:
    """The sorted order a query may walk (its first ``order by`` key), for the index to prepare."""
    if not query.order_by:
        return None
    first = query.order_by[0]
    if not _walkable(first):
        return None
    return Planner(bindings).sort_key(first)


def _walkable(order: ast.OrderBy) -> bool:
    if isinstance(order.target, ast.FieldPath):
        return order.ordering != "alphaNumeric"
    return isinstance(order.target, ast.IdField) and order.ordering not in ("long", "double", "alphaNumeric")


def _vector_scores(query: ast.Query, bindings: Bindings, planner: Planner, reader: IndexReader,
                   source: DocumentSource, hook: VectorScorer | None) -> dict[int, dict[int, float]]:
    """Each ``vector.search`` clause's similarities by document number (boost not applied).

    Filters AND-ed with the vector clauses at the top of the ``where`` narrow the candidates, as
    RavenDB integrates them into the search; otherwise each clause searches the whole collection.
    """
    where = query.where
    clauses = [node for node in where.walk() if isinstance(node, ast.VectorSearch)] if where is not None else []
    if not clauses or where is None:
        return {}
    if hook is None:
        from rookdb.errors import InvalidQueryError

        raise InvalidQueryError("vector search is not available", query=bindings.text)
    conjuncts = where.items if isinstance(where, ast.And) else (where,)
    filters = [item for item in conjuncts if not any(isinstance(n, ast.VectorSearch) for n in item.walk())]
    candidates: Sequence[str]
    if filters:
        allowed = reader.documents(plan.And(tuple(planner.condition(item) for item in filters)))
        ids = reader.ids(allowed)
        candidates = [ids[doc].lower() for doc in allowed if doc in ids]
    else:
        candidates = WholeCollection(source, query.source.name)
    found: dict[int, dict[int, float]] = {}
    for clause in clauses:
        similarities = {doc_id.lower(): score for doc_id, score in
                        hook(clause, bindings.parameters, candidates).items()}
        numbers = reader.numbers(similarities)
        found[id(clause)] = {numbers[doc_id]: score for doc_id, score in similarities.items() if doc_id in numbers}
    return found


def _ordered(reader: IndexReader, condition: plan.Condition, order_by: Sequence[ast.OrderBy], planner: Planner,
             bindings: Bindings, skip: int, take: int | None, total: int,
             bodies: dict[int, bytes | None] | None = None) -> list[int]:
    """The matching documents of ``[skip, skip + take)`` in ``order by`` order (no scores involved);
    a walk of the index's order fills ``bodies`` with the documents it read (``IndexReader.ordered``)."""
    if not order_by:
        return reader.documents(condition, skip, take)
    first = order_by[0]
    walkable = _walkable(first) and reader.can_walk(planner.sort_key(first))
    need = None if take is None else skip + take
    if need is not None and walkable and total > DEFAULT_FULL_SORT_LIMIT \
            and need * reader.document_count <= total * total:
        return _walked(reader, condition, order_by, planner, bindings, need, bodies)[skip:need]
    documents = reader.documents(condition)
    _sort(documents, order_by, reader, bindings, None)
    return documents[skip:need]


def _walked(reader: IndexReader, condition: plan.Condition, order_by: Sequence[ast.OrderBy], planner: Planner,
            bindings: Bindings, need: int, bodies: dict[int, bytes | None] | None = None) -> list[int]:
    """The first ``need`` documents (or a few more), walking the first key's sorted values."""
    first = order_by[0]
    runs: list[list[int]] = []
    current: Any = object()
    for count, (doc, value) in enumerate(reader.ordered(condition, planner.sort_key(first), bodies)):
        key = int(value) if first.ordering == "long" and value is not None else value
        if not runs or key != current:
            if count >= need:
                break
            runs.append([])
            current = key
        runs[-1].append(doc)
    ordered: list[int] = []
    for run in runs:  # equal first keys: document order, then the other keys
        run.sort()
        if len(order_by) > 1 and len(run) > 1:
            _sort(run, order_by[1:], reader, bindings, None)
        ordered.extend(run)
    return ordered


def _sort(documents: list[int], order_by: Sequence[ast.OrderBy], reader: IndexReader, bindings: Bindings,
          scores: Mapping[int, float] | None) -> None:
    """Sort ``documents`` (given in document order) as ``order by`` says, with the index's values."""
    keys: list[tuple[Callable[[int], Any], bool]] = []
    for order in order_by:
        target = order.target
        if isinstance(target, ast.ScoreOrder):
            # Relevance order is the natural one: "score()" puts the best match first.
            keys.append(((scores or {}).__getitem__, not order.descending))
        elif isinstance(target, ast.RandomOrder):
            seed = bindings.value(target.seed) if target.seed is not None else None
            draws = random.Random(seed)
            shuffled = {doc: draws.random() for doc in documents}
            keys.append((shuffled.__getitem__, order.descending))
        elif isinstance(target, ast.CountAggregate | ast.SumAggregate):
            raise ast.outside_group_by(target, bindings.text)
        else:
            field = plan.ID_FIELD if isinstance(target, ast.IdField) else Planner(bindings).field(target)
            values = reader.sort_values(documents, field)
            numeric = order.ordering in ("long", "double")
            missing_rank = 0 if order.nulls is None or (order.nulls == "first") != order.descending else 2

            missing = (missing_rank,)
            ranked: dict[int, Any] = {}
            for doc in documents:  # the index holds the first value's forms: text lower-cased, number finite
                text, number = values.get(doc, (None, None))
                if numeric:
                    ranked[doc] = missing if number is None else (
                        1, int(number) if order.ordering == "long" else number)
                elif order.ordering == "alphaNumeric":
                    ranked[doc] = sort_key([] if text is None else [text], order.ordering, missing_rank)
                else:
                    ranked[doc] = missing if text is None else (1, text.lower())
            keys.append((ranked.__getitem__, order.descending))
    sort_in_place(documents, keys)


def _load(reader: IndexReader, source: DocumentSource, documents: Sequence[int], select: ast.Select | None,
          shape: IndexShape, bindings: Bindings) -> list[tuple[int, dict[str, Any]]]:
    """The documents of the page, in order; ones deleted since they were indexed drop out.

    A map-reduce index answers with its stored results; a projection of stored fields (and ``id()``)
    reads them from the index instead of the documents, and stored values win over the document's.
    """
    if shape.results_stored:
        stored = reader.stored(documents)
        return [(doc, {**stored[doc], "@metadata": {}}) for doc in documents if doc in stored]
    ids = reader.ids(documents)
    wanted = [doc for doc in documents if doc in ids]
    projected = _projected_fields(select, bindings)
    stored = reader.stored(wanted) if shape.stored_fields and projected else {}
    if projected is not None and stored and projected <= shape.stored_fields:
        return [(doc, {**stored.get(doc, {}), "@metadata": {"@id": ids[doc]}}) for doc in wanted]
    names = [ids[doc] for doc in wanted]
    loaded = load_documents(source, names)  # a BatchSource loads the page in one read
    return [(doc, {**body, **stored[doc]} if doc in stored else body)
            for doc, body in zip(wanted, loaded, strict=True) if body is not None]


def _reads_with_documents(reader: IndexReader, source: DocumentSource, select: ast.Select | None,
                          shape: IndexShape, bindings: Bindings) -> bool:
    """True when the index reads the page's documents itself, in the statement that finds them: the
    source's documents are those of the database file the index attached, and the page is made of them
    as stored (no stored results, no stored fields to project)."""
    attached, offered = reader.documents_file, getattr(source, "documents_file", None)
    if attached is None or (offered is not attached and offered != attached):  # usually the same object
        return False
    return not shape.results_stored and not (shape.stored_fields and _projected_fields(select, bindings))


def _with_bodies(reader: IndexReader, documents: Sequence[int], bodies: Mapping[int, bytes | None] | None
                 ) -> list[tuple[int, bytes]]:
    """The documents still stored, in order, with their bodies (read now unless the page came with them)."""
    found = reader.bodies(documents) if bodies is None else bodies
    return [(doc, body) for doc in documents if (body := found.get(doc)) is not None]


def _projected_fields(select: ast.Select | None, bindings: Bindings) -> frozenset[str] | None:
    """The top-level fields a projection reads (``id()`` needs none); None without a projection."""
    if select is None:
        return None
    fields: set[str] = set()
    for projection in select.projections:
        if isinstance(projection.field, ast.FieldPath):
            fields.add(bindings.names(projection.field)[0])
    return frozenset(fields)
