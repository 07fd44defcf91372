"""Relevance scores of a scored query answered from an index, and how ``or`` combines them.

Scores follow RavenDB's rules as rookdb's scan applies them: a plain predicate scores 1, ``and`` adds
its parts' scores (when it mixes scoring clauses with filters, the filters only decide membership),
``or`` adds the scores of the parts a document matches, ``boost(x, f)`` multiplies by ``f``.
``search()`` scores BM25 relevance (FTS5's ``bm25``), ``vector.search`` its similarity.

Adding BM25 (unbounded) to cosine similarity (at most 1) lets the text side dominate a hybrid
``vector.search(...) or search(...)`` unless boosts balance them, as in RavenDB. Beyond RavenDB, a
query can ask for reciprocal rank fusion instead (``FUSION_PARAMETER`` set to ``"rrf"``): each ``or``
then scores a document ``sum(weight / (RRF_K + rank))`` over the parts it matches, where ``rank`` is
its place in that part's own ranking (ties share a rank) and ``weight`` the part's boost, so no
score needs tuning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import InvalidQueryError
from rookdb.indexes import plan
from rookdb.indexes.reader import IndexReader
from rookdb.query import ast
from rookdb.query.bindings import Bindings
from rookdb.query.planner import Planner, is_scoring

__all__ = ["FUSION_PARAMETER", "RRF_K", "Scorer", "fusion_of"]

FUSION_PARAMETER = "rookdb.fusion"
"""The query parameter that selects how ``or`` fuses scores; a dotted name no RQL ``$param`` can use,
so RavenDB and the official clients pass it along untouched."""
RRF_K = 60
"""Reciprocal rank fusion's constant (Cormack et al., 2009)."""

_MATCH = 1.0
Scores = dict[int, float]


def fusion_of(parameters: Mapping[str, Any], text: str) -> str | None:
    """``"rrf"`` when the query asks for reciprocal rank fusion, None for RavenDB's sum of scores."""
    value = parameters.get(FUSION_PARAMETER)
    if value is None or value == "sum":
        return None
    if value == "rrf":
        return "rrf"
    raise InvalidQueryError(f"Query parameter '{FUSION_PARAMETER}' must be 'rrf' or 'sum', got {value!r}", query=text)


class Scorer:
    """Scores the documents a scored ``where`` matches, reading only what each clause needs."""

    def __init__(self, reader: IndexReader, planner: Planner, bindings: Bindings,
                 vector_scores: Mapping[int, Scores], fusion: str | None) -> None:
        """``vector_scores`` holds each ``vector.search`` node's scores (by ``id(node)``), boost not applied."""
        self._reader = reader
        self._planner = planner
        self._bindings = bindings
        self._vectors = vector_scores
        self._fusion = fusion
        self._everything: list[int] | None = None

    def scores(self, expr: ast.Expr, exact: bool = False) -> Scores:
        """Every matching document with its score."""
        if isinstance(expr, ast.And):
            return self._and(expr, exact)
        if isinstance(expr, ast.Or):
            if self._fusion == "rrf":
                return _fused([self._weighted(item, exact) for item in expr.items])
            return _summed([self.scores(item, exact) for item in expr.items])
        if isinstance(expr, ast.Not):
            excluded = self.scores(expr.expr, exact)
            return {doc: _MATCH for doc in self._all() if doc not in excluded}
        if isinstance(expr, ast.TrueExpr):
            return dict.fromkeys(self._all(), _MATCH)
        if isinstance(expr, ast.Exact):
            return self.scores(expr.expr, exact=True)
        if isinstance(expr, ast.Boost):
            factor = self._bindings.number(expr.factor, "boost")
            return {doc: score * factor for doc, score in self.scores(expr.expr, exact).items()}
        if isinstance(expr, ast.VectorSearch):
            boost = expr.boost if expr.boost is not None else 1.0
            return {doc: score * boost for doc, score in self._vectors[id(expr)].items()}
        if isinstance(expr, ast.Search):
            return self._reader.scores(self._planner.full_text(expr))
        return dict.fromkeys(self._reader.documents(self._planner.condition(expr, exact)), _MATCH)

    def _and(self, expr: ast.And, exact: bool) -> Scores:
        scoring = [is_scoring(item) for item in expr.items]
        if any(scoring) and not all(scoring):
            # Filters AND-ed with scoring clauses decide membership only: one index lookup for all of them.
            filters = plan.And(tuple(self._planner.condition(item, exact)
                                     for item, counts in zip(expr.items, scoring, strict=True) if not counts))
            allowed = set(self._reader.documents(filters))
            parts = [self.scores(item, exact) for item, counts in zip(expr.items, scoring, strict=True) if counts]
            return _intersected(parts, allowed)
        return _intersected([self.scores(item, exact) for item in expr.items], None)

    def _weighted(self, expr: ast.Expr, exact: bool) -> tuple[float, Scores]:
        """A part's fusion weight (its boosts) and the scores that rank it (without them)."""
        if isinstance(expr, ast.Boost):
            weight, ranked = self._weighted(expr.expr, exact)
            return weight * self._bindings.number(expr.factor, "boost"), ranked
        if isinstance(expr, ast.VectorSearch) and expr.boost is not None:
            return expr.boost, dict(self._vectors[id(expr)])
        return 1.0, self.scores(expr, exact)

    def _all(self) -> list[int]:
        if self._everything is None:
            self._everything = self._reader.documents(plan.Everything())
        return self._everything


def _intersected(parts: list[Scores], allowed: set[int] | None) -> Scores:
    if not parts:
        return {} if allowed is None else dict.fromkeys(sorted(allowed), 0.0)
    smallest = min(parts, key=len)
    result: Scores = {}
    for doc in smallest:
        if allowed is not None and doc not in allowed:
            continue
        total = 0.0
        for part in parts:
            score = part.get(doc)
            if score is None:
                break
            total += score
        else:
            result[doc] = total
    return result


def _summed(parts: list[Scores]) -> Scores:
    result: Scores = {}
    for doc in sorted({doc for part in parts for doc in part}):
        result[doc] = sum(part[doc] for part in parts if doc in part)
    return result


def _fused(parts: list[tuple[float, Scores]]) -> Scores:
    result: Scores = {}
    for weight, scores in parts:
        for doc, rank in _ranks(scores).items():
            result[doc] = result.get(doc, 0.0) + weight / (RRF_K + rank)
    return dict(sorted(result.items()))


def _ranks(scores: Scores) -> dict[int, int]:
    """1-based competition ranks: best score first, equal scores share the better rank."""
    ranks: dict[int, int] = {}
    previous: float | None = None
    rank = 0
    for position, (doc, score) in enumerate(sorted(scores.items(), key=lambda item: (-item[1], item[0])), 1):
        if score != previous:
            rank, previous = position, score
        ranks[doc] = rank
    return ranks
