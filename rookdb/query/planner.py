"""Planning RQL against an index: ``where`` clauses as conditions an index answers, ``order by`` as keys.

The conditions keep RQL's semantics exactly (``rookdb.query.ordering``): a string compared with
``=`` also accepts the number or boolean it spells, ranges compare numbers with numbers and text
with text, ``= null`` also finds documents without the field, ``exact()`` compares case-sensitively.
Vector clauses are not conditions (they are scored by the vector search hook); ``search()`` is a
full-text condition the index scores by relevance.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Literal

from rookdb.errors import InvalidQueryError
from rookdb.indexes import plan
from rookdb.indexes.fulltext import analyze, phrase_words, search_terms
from rookdb.indexes.values import Key, text_of
from rookdb.query import ast
from rookdb.query.bindings import Bindings
from rookdb.query.index_names import index_field
from rookdb.query.lucene import lucene_clause
from rookdb.query.ordering import query_keys, range_operand

__all__ = ["Planner", "is_scoring"]


def is_scoring(expr: ast.Expr) -> bool:
    """True when the clause contributes a relevance score (vector search, full text, boost)."""
    return bool(expr.nodes_of((ast.VectorSearch, ast.Search, ast.Boost)))


class Planner:
    """Translates one query's clauses, with its parameters resolved."""

    def __init__(self, bindings: Bindings, is_exact: Callable[[str], bool] | None = None,
                 is_analyzed: Callable[[str], bool] | None = None) -> None:
        """Fields ``is_exact`` accepts are compared case-sensitively whether or not the query says
        ``exact()`` (a static index's ``Indexing: Exact`` fields). Fields ``is_analyzed`` accepts
        hold words to ``lucene()`` and ``fuzzy()`` (``Indexing: Search``), as Lucene's terms."""
        self._bindings = bindings
        self._is_exact = is_exact
        self._is_analyzed = is_analyzed

    def field(self, target: ast.Field) -> str:
        """The index field a query field reads (``plan.ID_FIELD`` for ``id()``)."""
        if isinstance(target, ast.IdField):
            return plan.ID_FIELD
        return index_field(target, self._bindings.alias)

    def condition(self, expr: ast.Expr, exact: bool = False) -> plan.Condition:
        """The condition matching what ``expr`` matches (``expr`` holds no vector clause)."""
        if isinstance(expr, ast.And):
            return plan.And(tuple(self.condition(item, exact) for item in expr.items))
        if isinstance(expr, ast.Or):
            return plan.Or(tuple(self.condition(item, exact) for item in expr.items))
        if isinstance(expr, ast.Not):
            return plan.Not(self.condition(expr.expr, exact))
        if isinstance(expr, ast.TrueExpr):
            return plan.Everything()
        if isinstance(expr, ast.Exact):
            return self.condition(expr.expr, exact=True)
        if isinstance(expr, ast.Boost):
            self._bindings.number(expr.factor, "boost")  # a bad factor fails even where scores do not matter
            return self.condition(expr.expr, exact)
        if isinstance(expr, ast.VectorSearch):
            raise AssertionError("vector clauses are scored, not planned")
        if isinstance(expr, ast.Lucene):
            clause = lucene_clause(expr, self._bindings.value(expr.value), self._bindings.text)
            return self.condition(self._on_words(clause) if self._is_analyzed is not None else clause, exact)
        field = self.field(expr.field)
        exact = exact or (self._is_exact is not None and self._is_exact(field))
        if isinstance(expr, ast.Fuzzy) and self._analyzed(field):
            return self._fuzzy_words(field, expr)
        if isinstance(expr, ast.Exists):
            return plan.Present(field)
        if isinstance(expr, ast.Search):
            return self.full_text(expr)
        if isinstance(expr, ast.Comparison):
            if expr.op in ("=", "!="):
                equal = plan.Equals(field, self._keys(self._bindings.values([expr.value]), exact), exact)
                return equal if expr.op == "=" else plan.Not(equal)
            return self._range(field, expr.value, expr.op, exact)
        if isinstance(expr, ast.Between):
            return self._between(field, expr, exact)
        if isinstance(expr, ast.In):
            wanted = self._bindings.values(expr.values)
            if not expr.all:
                return plan.Equals(field, self._keys(wanted, exact), exact)
            return plan.AllOf(field, tuple(self._keys([item], exact) for item in wanted), exact)
        if isinstance(expr, ast.StartsWith | ast.EndsWith):
            affix = text_of(self._bindings.value(expr.value))
            if affix is None:
                return plan.Nothing()
            kind = plan.Prefix if isinstance(expr, ast.StartsWith) else plan.Suffix
            return kind(field, affix, exact)
        if isinstance(expr, ast.Regex):
            return plan.Pattern(field, self._pattern(expr.value))
        if isinstance(expr, ast.Fuzzy):
            term = text_of(self._bindings.value(expr.comparison.value))
            return plan.Nothing() if term is None else plan.Similar(field, term, expr.similarity)
        raise InvalidQueryError(f"Unsupported expression: {expr.to_rql()}", query=self._bindings.text,
                                position=expr.field.position)

    def full_text(self, expr: ast.Search) -> plan.FullText:
        if isinstance(expr.field, ast.IdField):
            raise InvalidQueryError(
                "search() works on document fields, not on id(): use id() = ..., startsWith(id(), ...) or "
                "regex(id(), ...)", query=self._bindings.text, position=expr.field.position)
        words = str(self._bindings.value(expr.value) or "")
        if expr.proximity is not None:
            if "*" in words:
                raise InvalidQueryError("proximity() does not support wildcards in its search() terms",
                                        query=self._bindings.text, position=expr.field.position)
            phrase = phrase_words(analyze(words))
            return plan.FullText(self.field(expr.field), tuple(plan.SearchTerm((word,)) for word in phrase), True,
                                 expr.proximity)
        return plan.FullText(self.field(expr.field), search_terms(words), expr.operator == "and")

    def _analyzed(self, field: str) -> bool:
        return self._is_analyzed is not None and self._is_analyzed(field)

    def _on_words(self, expr: ast.Expr) -> ast.Expr:
        """A ``lucene()`` clause with its terms on analysed fields read as Lucene reads them there: a
        term or phrase is its words in a row, ``term*`` and ``*term`` match words, not whole values."""
        if isinstance(expr, ast.And | ast.Or):
            return type(expr)(tuple(self._on_words(item) for item in expr.items))
        if isinstance(expr, ast.Not | ast.Boost):
            return dataclasses.replace(expr, expr=self._on_words(expr.expr))
        if not isinstance(expr, ast.Comparison | ast.StartsWith | ast.EndsWith) or \
                not isinstance(expr.field, ast.FieldPath) or not self._analyzed(self.field(expr.field)):
            return expr
        if isinstance(expr, ast.Comparison) and expr.op != "=":
            return expr
        text = text_of(self._bindings.value(expr.value)) or ""
        if isinstance(expr, ast.Comparison):
            # Several words (a phrase, or "anton's") are a phrase query: in that order, nothing between.
            words = analyze(text)
            return ast.Search(expr.field, ast.Literal(text), proximity=0 if len(words) > 1 else None)
        wildcard = f"{text}*" if isinstance(expr, ast.StartsWith) else f"*{text}"
        return ast.Search(expr.field, ast.Literal(wildcard))

    def _fuzzy_words(self, field: str, expr: ast.Fuzzy) -> plan.Condition:
        """``fuzzy()`` on an analysed field: each word of the value needs a similar word in the field."""
        words = analyze(text_of(self._bindings.value(expr.comparison.value)) or "")
        if not words:
            return plan.Nothing()
        terms = tuple(plan.SearchTerm((word,), similarity=expr.similarity) for word in words)
        return plan.FullText(field, terms, require_all=True)

    def sort_key(self, order: ast.OrderBy) -> plan.SortKey:
        """The index ordering of a field ``order by`` (``as long``/``as double`` sort by the number)."""
        assert isinstance(order.target, ast.FieldPath | ast.IdField)
        form: Literal["text", "number"] = "number" if order.ordering in ("long", "double") else "text"
        missing_first = order.nulls == "first" or (order.nulls is None and not order.descending)
        return plan.SortKey(self.field(order.target), form, order.descending, missing_first)

    def _keys(self, values: list[object], exact: bool) -> frozenset[Key]:
        keys: set[Key] = set()
        for value in values:
            keys |= query_keys(value, exact)
        return frozenset(keys)

    def _range(self, field: str, bound: ast.Value, op: str, exact: bool) -> plan.Condition:
        operand = range_operand(self._bindings.value(bound), exact)
        if operand is None:
            return plan.Nothing()
        kind, limit = operand
        if op in (">", ">="):
            return plan.Range(field, kind, limit, None, low_inclusive=op == ">=", exact=exact)
        return plan.Range(field, kind, None, limit, high_inclusive=op == "<=", exact=exact)

    def _between(self, field: str, expr: ast.Between, exact: bool) -> plan.Condition:
        low = range_operand(self._bindings.value(expr.low), exact)
        high = range_operand(self._bindings.value(expr.high), exact)
        if low is None or high is None or low[0] != high[0]:  # one value cannot be of two kinds
            return plan.Nothing()
        return plan.Range(field, low[0], low[1], high[1], exact=exact)

    def _pattern(self, value: ast.Value) -> str:
        pattern = self._bindings.value(value)
        position = value.position if isinstance(value, ast.Parameter) else None
        if not isinstance(pattern, str):
            raise InvalidQueryError(f"regex() needs a string pattern, got {pattern!r}", query=self._bindings.text,
                                    position=position)
        try:
            re.compile(pattern)
        except re.error as error:
            raise InvalidQueryError(f"Invalid regex {pattern!r}: {error}", query=self._bindings.text,
                                    position=position) from error
        return pattern
