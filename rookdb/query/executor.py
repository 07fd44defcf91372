"""Running a parsed RQL query, with RavenDB's matching, ordering and paging rules.

Given an index (``index``, an ``IndexReader`` of the auto-index the query needs), the query is
answered from it (``rookdb.query.indexed``): only matching documents are read, and only those of the
page are loaded. Without one, the executor scans what its ``QuerySource`` yields: the reference
behaviour, used by queries that read a collection in order (no filter, or ``id()`` only) and by
sources that have no index.

Vector clauses are scored by a ``VectorSearchHook``; see its docstring. When the ``where`` is made
only of vector clauses, only the documents they score are read, not the collection, and without
``order by`` or ``distinct`` only those of the requested page.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from rookdb.errors import IndexNotFoundError, InvalidQueryError
from rookdb.indexes.fulltext import analyze, phrase_words, similar, sloppy_frequency
from rookdb.indexes.reader import IndexReader
from rookdb.indexes.sql_functions import REGEX_FLAGS
from rookdb.query import ast, indexed, vector_clauses
from rookdb.query.bindings import Bindings, check_parameters, doc_id
from rookdb.query.deadline import NO_DEADLINE, Deadline
from rookdb.query.facets import facet_results, matching_documents, with_setups
from rookdb.query.highlighting import highlightings
from rookdb.query.index_names import index_name as query_index_name
from rookdb.query.index_names import reads_collection
from rookdb.query.lucene import lucene_clause
from rookdb.query.ordering import (
    equality_keys,
    query_keys,
    range_operand,
    sort_in_place,
    sort_key,
    text_of,
)
from rookdb.query.parser import parse_query
from rookdb.query.planner import is_scoring
from rookdb.query.results import Row, distinct_rows, gather_includes, referenced_keys, render
from rookdb.query.scoring import fusion_of
from rookdb.query.vector_clauses import WholeCollection, load_scored, projects_ids_only

__all__ = ["QueryResult", "QuerySource", "VectorSearchHook", "WholeCollection", "execute"]

Document: TypeAlias = dict[str, Any]
# A compiled where clause: the document's score when it matches, None when it does not.
_Matcher: TypeAlias = Callable[[Document], float | None]
_Match: TypeAlias = tuple[Document, float]
_Getter: TypeAlias = Callable[[Document], list[Any]]

_MATCH = 1.0
_WORD = re.compile(r"\w+")


class QuerySource(Protocol):
    """Where the executor reads documents from (a database, or a list in tests)."""

    def iter_collection(self, collection: str | None) -> Iterable[dict[str, Any]]:
        """The documents of ``collection`` (matched case-insensitively), or all when None.

        Each document carries ``@metadata`` with ``@id``, ``@collection``, ``@change-vector``
        and ``@last-modified``. The executor never mutates what it is given.
        """
        ...

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        """One document by id (case-insensitive), or None; used for ``include``."""
        ...


class VectorSearchHook(Protocol):
    """Scores documents against one ``vector.search`` clause.

    ``candidate_ids`` are the lower-cased ids of the documents the clause may match, in scan
    order: the queried collection, narrowed by the filters AND-ed with the clause at the top of
    the ``where`` (RavenDB integrates such filters into the search rather than applying them
    afterwards). When nothing narrows it, ``candidate_ids`` is a ``WholeCollection``: a hook backed
    by an index of the collection can skip filtering without reading it. The hook applies
    ``minimum_similarity``, ``number_of_candidates`` and ``exact`` and returns ``{id: similarity}``
    for the documents that match (ids compare case-insensitively; ``select id()`` shows them as
    returned, without loading the documents). The executor
    applies ``boost`` and combines the clause with the rest of the query; raise ``RookError``
    subclasses (``InvalidQueryError`` for a bad clause or parameter) to fail the query.
    """

    def __call__(
        self, clause: ast.VectorSearch, parameters: Mapping[str, Any], candidate_ids: Sequence[str]
    ) -> dict[str, float]: ...


@dataclass(slots=True)
class QueryResult:
    """What a query produced, ready for the wire (``Results``, ``Includes``, ``TotalResults``...)."""

    results: list[dict[str, Any]]
    includes: dict[str, dict[str, Any]]
    total_results: int
    skipped_results: int
    index_name: str
    duration_ms: int
    included_paths: list[str] = field(default_factory=list)
    is_stale: bool = False  # the index had changes left to apply (a scan is never stale)
    index_timestamp: str | None = None  # when the index last applied changes (None: no index)
    result_etag: int | None = None  # the etag the index had reached (None: no index)
    compare_exchange_keys: list[str] | None = None
    """Keys named by ``include cmpxchg(...)`` in the page's documents (None: the query includes none)."""
    timings: dict[str, Any] | None = None
    """``include timings()``: RavenDB's ``Timings`` tree (None: not asked for)."""
    explanations: dict[str, list[str]] | None = None
    """``include explanations()``: why each result matched, by id or group key (None: not asked for)."""
    highlightings: dict[str, dict[str, list[str]]] | None = None
    """``include highlight(...)``: field → key → fragments (None: not asked for)."""


def execute(
    query: str | ast.Query,
    parameters: Mapping[str, Any],
    source: QuerySource,
    *,
    start: int = 0,
    page_size: int | None = None,
    vector_search: VectorSearchHook | None = None,
    order_by_score: bool = True,
    index: IndexReader | None = None,
    index_name: str | None = None,
    shape: indexed.IndexShape | None = None,
    deadline: Deadline = NO_DEADLINE,
) -> QueryResult:
    """Run ``query``; ``start``/``page_size`` come from the request and yield to RQL ``limit``/``offset``.

    ``order_by_score`` False keeps scored matches in document order unless ``order by`` says otherwise
    (``Indexing.Corax.VectorSearch.OrderByScoreAutomatically``). ``index`` answers the query when it
    needs an index (``index_name`` is then the name reported); a query on a named index (``from index``)
    is always answered from ``index``, whose ``shape`` says what it stores. Past ``deadline`` the query
    stops with ``RequestTimeoutError``.
    """
    began = time.perf_counter()
    parsed = parse_query(query) if isinstance(query, str) else query
    text = query if isinstance(query, str) else parsed.to_rql()
    if parsed.facets:
        parsed, parameters = with_setups(parsed, parameters, source)
    check_parameters(parsed, parameters, text)
    on_index = parsed.source.kind == "index"
    if on_index and index is None:
        raise IndexNotFoundError(f"Index '{parsed.source.name}' does not exist.")
    bindings = Bindings(parameters, parsed.source.alias, text)
    if parsed.facets:
        if index is None:
            raise InvalidQueryError("Facet queries are answered by an index", query=text)
        return _facet_query(parsed, bindings, index, source, shape or indexed.IndexShape(), began,
                            index_name or query_index_name(parsed, parameters), deadline)
    fusion = fusion_of(parameters, text)
    vector_only = (parsed.where is not None and parsed.source.kind == "collection"
                   and vector_clauses.vector_only(parsed.where))
    if index is not None and (on_index or (not reads_collection(parsed) and (fusion is not None or not vector_only))):
        skip, take = bindings.window(parsed, start, page_size)
        page, total = indexed.answer(parsed, bindings, index, source, skip=skip, take=take,
                                     vector_search=vector_search, order_by_score=order_by_score, fusion=fusion,
                                     shape=shape or indexed.IndexShape(), deadline=deadline)
    else:
        page, total = _scan(parsed, bindings, source, start=start, page_size=page_size, vector_search=vector_search,
                            order_by_score=order_by_score, vector_only=vector_only, deadline=deadline)
    documents = [doc for doc, _ in page]
    includes = gather_includes(documents, parsed.include, bindings, source) if parsed.include else {}
    matched = time.perf_counter()
    keys = referenced_keys(documents, parsed.include_compare_exchange, bindings) if parsed.include_compare_exchange \
        else None
    return QueryResult(
        results=[result for _, result in page],
        includes=includes,
        total_results=total,
        skipped_results=0,  # paging runs over distinct rows, so the client must not skip more
        index_name=index_name or query_index_name(parsed, parameters),
        duration_ms=round((time.perf_counter() - began) * 1000),
        included_paths=[path.dotted for path in parsed.include],
        compare_exchange_keys=keys,
        timings=_timings(began, matched) if parsed.include_timings else None,
        explanations=None if parsed.include_explanations is False else _explanations(parsed, bindings, page),
        highlightings=highlightings(parsed, bindings, page) if parsed.highlights else None,
    )


def _facet_query(parsed: ast.Query, bindings: Bindings, index: IndexReader, source: QuerySource,
                 shape: indexed.IndexShape, began: float, index_name: str, deadline: Deadline) -> QueryResult:
    """A ``select facet(...)`` query: one result per facet, includes read from every matching document."""
    results = facet_results(parsed, bindings, index, is_exact=shape.is_exact, deadline=deadline)
    includes: dict[str, dict[str, Any]] = {}
    if parsed.include:
        documents = matching_documents(parsed, bindings, index, source, is_exact=shape.is_exact)
        includes = gather_includes(documents, parsed.include, bindings, source)
    return QueryResult(results=results, includes=includes, total_results=len(results), skipped_results=0,
                       index_name=index_name, duration_ms=round((time.perf_counter() - began) * 1000),
                       included_paths=[path.dotted for path in parsed.include])


def _explanations(parsed: ast.Query, bindings: Bindings, page: list[Row]) -> dict[str, list[str]]:
    """One line per result: its score and the clause it matched, keyed by document id or, when the
    options name one (``{"groupKey": field}``), by that field's value (a map-reduce result's key)."""
    options = parsed.include_explanations
    group_key = None
    if isinstance(options, ast.Parameter):
        given = bindings.value(options)
        group_key = given.get("groupKey") if isinstance(given, dict) else None
    clause = parsed.where.to_rql() if parsed.where is not None else "every document (no where clause)"
    found: dict[str, list[str]] = {}
    for document, result in page:
        found_metadata = result.get("@metadata")
        metadata: dict[str, Any] = found_metadata if isinstance(found_metadata, dict) else {}
        key = result.get(group_key) if isinstance(group_key, str) else doc_id(document) or metadata.get("@id")
        score = metadata.get("@index-score", _MATCH)
        found.setdefault(str(key), []).append(f"{score} = matched {clause}")
    return found


def _timings(began: float, matched: float) -> dict[str, Any]:
    """RavenDB's timings tree: the whole query and its one stage; milliseconds rounded up, as any
    query that ran took some time."""
    now = time.perf_counter()

    def span(seconds: float, children: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"DurationInMs": math.ceil(seconds * 1000), "Timings": children}

    return span(now - began, {"Query": span(matched - began), "Includes": span(now - matched)})


def _scan(parsed: ast.Query, bindings: Bindings, source: QuerySource, *, start: int, page_size: int | None,
          vector_search: VectorSearchHook | None, order_by_score: bool, vector_only: bool,
          deadline: Deadline) -> tuple[list[Row], int]:
    """Match, order and page what the source yields; the page's rows and the total."""
    compiler = _Compiler(bindings)
    distinct = parsed.select is not None and parsed.select.distinct
    # Vector clauses match by id alone: without sorting on fields, only the page needs its documents.
    by_id = vector_only and not parsed.order_by and not distinct
    documents = [] if vector_only else list(deadline.paced(source.iter_collection(parsed.source.name)))
    scored = False
    matches: list[_Match]
    if parsed.where is None:
        matches = [(doc, _MATCH) for doc in documents]
    else:
        if parsed.where.nodes_of(ast.VectorSearch):
            if vector_search is None:
                raise InvalidQueryError("vector search is not available", query=bindings.text)
            everything = WholeCollection(source, parsed.source.name) if vector_only else None
            scored_ids = _score_vector_clauses(parsed.where, compiler, documents, vector_search, everything)
            if by_id:
                documents = [{"@metadata": {"@id": found, "@collection": parsed.source.name}}
                             for found in scored_ids.values()]
            elif vector_only:
                documents = load_scored(source, scored_ids, parsed.source.name)
            scored = True
        scored = scored or bool(parsed.where.nodes_of(ast.Search))
        matcher = compiler.compile(parsed.where)
        matches = []
        for doc in deadline.paced(documents):
            score = matcher(doc)
            if score is not None:
                matches.append((doc, score))

    if parsed.order_by:
        _sort(matches, parsed.order_by, compiler)
    elif scored and order_by_score:
        matches.sort(key=lambda match: match[1], reverse=True)
    deadline.check()
    scored = scored or any(isinstance(o.target, ast.ScoreOrder) for o in parsed.order_by)
    skip, take = bindings.window(parsed, start, page_size)
    end = None if take is None else skip + take

    def rendered(selected: list[_Match]) -> list[Row]:
        return [render(doc, score if scored else None, parsed.select, bindings)
                for doc, score in deadline.paced(selected)]

    if distinct:
        rows = distinct_rows(rendered(matches))  # duplicates are only known once everything is projected
        return rows[skip:end], len(rows)
    selected = matches[skip:end]
    if by_id and not projects_ids_only(parsed.select):  # an id() projection needs no document
        loaded = load_scored(source, [doc_id(doc) for doc, _ in selected], parsed.source.name)
        scores = {doc_id(doc).lower(): score for doc, score in selected}
        selected = [(doc, scores[doc_id(doc).lower()]) for doc in loaded]
    return rendered(selected), len(matches)


# ---- where -----------------------------------------------------------------------------------


class _Compiler:
    """Turns a where clause into nested closures, with parameters resolved once per query."""

    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings
        self.parameters = bindings.parameters
        self.text = bindings.text
        self.value = bindings.value
        self.values = bindings.values
        self.names = bindings.names
        self.getter = bindings.getter
        self.vector_scores: dict[int, dict[str, float]] = {}

    def compile(self, expr: ast.Expr, exact: bool = False) -> _Matcher:
        if isinstance(expr, ast.And):
            parts = [self.compile(item, exact) for item in expr.items]
            # Filters AND-ed with a scoring clause (vector.search, search, boost) decide membership only,
            # so the document's score is the similarity the scoring clauses report.
            scoring = [is_scoring(item) for item in expr.items]
            if any(scoring) and not all(scoring):
                return lambda doc: _all_scored(parts, scoring, doc)
            return lambda doc: _all(parts, doc)
        if isinstance(expr, ast.Or):
            parts = [self.compile(item, exact) for item in expr.items]
            return lambda doc: _any(parts, doc)
        if isinstance(expr, ast.Not):
            inner = self.compile(expr.expr, exact)
            return lambda doc: _MATCH if inner(doc) is None else None
        if isinstance(expr, ast.TrueExpr):
            return lambda doc: _MATCH
        if isinstance(expr, ast.Exact):
            return self.compile(expr.expr, exact=True)
        if isinstance(expr, ast.Boost):
            return _boosted(self.compile(expr.expr, exact), self.bindings.number(expr.factor, "boost"))
        if isinstance(expr, ast.VectorSearch):
            return self._vector(expr)
        if isinstance(expr, ast.Exists):
            present = self.getter(expr.field, flatten=False)
            return lambda doc: _MATCH if present(doc) else None
        if isinstance(expr, ast.Search):
            return self._search(expr)
        if isinstance(expr, ast.Lucene):
            return self.compile(lucene_clause(expr, self.value(expr.value), self.text), exact)
        return _predicate(self._test(expr, exact), self.getter(expr.field))

    def _test(self, expr: ast.Expr, exact: bool) -> Callable[[list[Any]], bool]:
        """The check one comparison makes on the values a document holds at the field."""
        if isinstance(expr, ast.Comparison):
            if expr.op in ("=", "!="):
                equal = _equality(self.values([expr.value]), exact)
                return equal if expr.op == "=" else lambda values: not equal(values)
            return _range(self.value(expr.value), expr.op, exact)
        if isinstance(expr, ast.Between):
            low = _range(self.value(expr.low), ">=", exact)
            high = _range(self.value(expr.high), "<=", exact)
            return lambda values: any(low([v]) and high([v]) for v in values)
        if isinstance(expr, ast.In):
            wanted = self.values(expr.values)
            if not expr.all:
                return _equality(wanted, exact)
            each = [_equality([item], exact) for item in wanted]
            return lambda values: bool(values) and all(test(values) for test in each)
        if isinstance(expr, ast.StartsWith | ast.EndsWith):
            affix = text_of(self.value(expr.value))
            if affix is None:
                return lambda values: False
            affix = affix if exact else affix.lower()
            at_start = isinstance(expr, ast.StartsWith)
            return lambda values: any(_affix_match(v, affix, at_start, exact) for v in values)
        if isinstance(expr, ast.Regex):
            pattern = self._regex(self.value(expr.value))
            return lambda values: any(isinstance(v, str) and pattern.search(v) is not None for v in values)
        if isinstance(expr, ast.Fuzzy):
            term = text_of(self.value(expr.comparison.value))
            if term is None:
                return lambda values: False
            term, minimum = term.lower(), expr.similarity
            return lambda values: any(isinstance(v, str) and similar(v.lower(), term, minimum) for v in values)
        raise InvalidQueryError(f"Unsupported expression: {expr.to_rql()}", query=self.text)

    def _regex(self, pattern: Any) -> re.Pattern[str]:
        if not isinstance(pattern, str):
            raise InvalidQueryError(f"regex() needs a string pattern, got {pattern!r}", query=self.text)
        try:
            return re.compile(pattern, REGEX_FLAGS)
        except re.error as error:
            raise InvalidQueryError(f"Invalid regex {pattern!r}: {error}", query=self.text) from error

    def _search(self, expr: ast.Search) -> _Matcher:
        if expr.proximity is not None:
            return self._proximity(expr, expr.proximity)
        terms = [_search_term(word) for word in str(self.value(expr.value) or "").split()]
        terms = [term for term in terms if term[0]]
        get = self.getter(expr.field)
        require_all = expr.operator == "and"

        def match(doc: Document) -> float | None:
            if not terms:
                return None
            words = {w.lower() for v in get(doc) if (t := text_of(v)) for w in _WORD.findall(t)}
            hits = sum(1 for term in terms if _term_hits(term, words))
            if hits == 0 or (require_all and hits < len(terms)):
                return None
            return hits / len(terms)

        return match

    def _proximity(self, expr: ast.Search, slop: int) -> _Matcher:
        phrase = phrase_words(analyze(str(self.value(expr.value) or "")))
        get = self.getter(expr.field)

        def match(doc: Document) -> float | None:
            frequency = sum(sloppy_frequency(phrase_words(analyze(text)), phrase, slop)
                            for value in get(doc) if (text := text_of(value)))
            return frequency if frequency > 0 else None

        return match

    def _vector(self, expr: ast.VectorSearch) -> _Matcher:
        scores = self.vector_scores[id(expr)]
        boost = expr.boost if expr.boost is not None else 1.0
        return lambda doc: (s * boost) if (s := scores.get(doc_id(doc).lower())) is not None else None


def _all(parts: list[_Matcher], doc: Document) -> float | None:
    total = 0.0
    for part in parts:
        score = part(doc)
        if score is None:
            return None
        total += score
    return total


def _all_scored(parts: list[_Matcher], scoring: list[bool], doc: Document) -> float | None:
    total = 0.0
    for part, counts in zip(parts, scoring, strict=True):
        score = part(doc)
        if score is None:
            return None
        if counts:
            total += score
    return total


def _any(parts: list[_Matcher], doc: Document) -> float | None:
    scores = [score for part in parts if (score := part(doc)) is not None]
    return sum(scores) if scores else None


def _boosted(inner: _Matcher, factor: float) -> _Matcher:
    return lambda doc: (s * factor) if (s := inner(doc)) is not None else None


def _predicate(test: Callable[[list[Any]], bool], get: _Getter) -> _Matcher:
    return lambda doc: _MATCH if test(get(doc)) else None


def _equality(wanted: list[Any], exact: bool) -> Callable[[list[Any]], bool]:
    keys: set[Any] = set()
    for item in wanted:
        keys |= query_keys(item, exact)
    # A missing field is indexed as null, so "= null" also finds documents without the field.
    match_missing = ("null",) in keys
    return lambda values: (not values and match_missing) or any(
        key in keys for value in values for key in equality_keys(value, exact)
    )


_RANGE_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _range(bound: Any, op: str, exact: bool) -> Callable[[list[Any]], bool]:
    operand = range_operand(bound, exact)
    if operand is None:
        return lambda values: False
    kind, limit = operand
    compare = _RANGE_TESTS[op]

    def test(values: list[Any]) -> bool:
        for value in values:
            own = range_operand(value, exact)
            if own is not None and own[0] == kind and compare(own[1], limit):
                return True
        return False

    return test


def _affix_match(value: Any, affix: str, at_start: bool, exact: bool) -> bool:
    text = text_of(value)
    if text is None:
        return False
    text = text if exact else text.lower()
    return text.startswith(affix) if at_start else text.endswith(affix)


def _search_term(word: str) -> tuple[str, bool, bool]:
    """(text, wildcard before, wildcard after) for one search word: ``*ton`` matches suffixes."""
    lowered = word.lower()
    prefix, suffix = lowered.startswith("*"), lowered.endswith("*")
    core = " ".join(_WORD.findall(lowered.strip("*")))
    return core, prefix, suffix


def _term_hits(term: tuple[str, bool, bool], words: set[str]) -> bool:
    core, before, after = term
    if " " in core:  # "anton's" analyses to several words; all must be present
        return all(part in words for part in core.split())
    if not before and not after:
        return core in words
    if before and after:
        return any(core in w for w in words)
    if after:
        return any(w.startswith(core) for w in words)
    return any(w.endswith(core) for w in words)


# ---- vector clauses --------------------------------------------------------------------------


def _score_vector_clauses(
    where: ast.Expr,
    compiler: _Compiler,
    documents: list[Document],
    hook: VectorSearchHook,
    everything: WholeCollection | None,
) -> dict[str, str]:
    """Score every vector clause; returns the ids any clause matched (lower-cased → as the hook spelled
    them), in the order the hook returned them."""
    conjuncts = where.items if isinstance(where, ast.And) else (where,)
    filters = [c for c in conjuncts if not any(isinstance(n, ast.VectorSearch) for n in c.walk())]
    candidate_ids: Sequence[str]
    if everything is not None:
        candidate_ids = everything
    elif filters:
        matchers = [compiler.compile(c) for c in filters]
        candidate_ids = [doc_id(doc).lower() for doc in documents if all(m(doc) is not None for m in matchers)]
    else:
        candidate_ids = [doc_id(doc).lower() for doc in documents]
    matched: dict[str, str] = {}
    for node in where.walk():
        if isinstance(node, ast.VectorSearch):
            scores = hook(node, compiler.parameters, candidate_ids)
            lowered = {key.lower(): score for key, score in scores.items()}
            compiler.vector_scores[id(node)] = lowered
            matched.update({key.lower(): key for key in scores if key.lower() not in matched})
    return matched


# ---- ordering, projection, includes ----------------------------------------------------------


def _sort(matches: list[_Match], order_by: Sequence[ast.OrderBy], compiler: _Compiler) -> None:
    keys: list[tuple[Callable[[_Match], Any], bool]] = []
    for order in order_by:
        target = order.target
        if isinstance(target, ast.ScoreOrder):
            # Relevance order is the natural one: "score()" puts the best match first.
            keys.append((lambda match: match[1], not order.descending))
            continue
        if isinstance(target, ast.RandomOrder):
            seed = compiler.value(target.seed) if target.seed is not None else None
            keys.append((_random_key(matches, seed), order.descending))
            continue
        if isinstance(target, ast.CountAggregate | ast.SumAggregate):
            raise ast.outside_group_by(target, compiler.bindings.text)
        get = compiler.getter(target)
        missing_rank = 0 if order.nulls is None or (order.nulls == "first") != order.descending else 2

        def key(match: tuple[Document, float], get: _Getter = get, order: ast.OrderBy = order,
                missing_rank: int = missing_rank) -> Any:
            return sort_key(get(match[0]), order.ordering, missing_rank)

        keys.append((key, order.descending))
    sort_in_place(matches, keys)


def _random_key(matches: list[_Match], seed: Any) -> Callable[[_Match], float]:
    draws = random.Random(seed)
    shuffled = {id(doc): draws.random() for doc, _ in matches}
    return lambda match: shuffled[id(match[0])]
