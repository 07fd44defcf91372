"""Conditions (``rookdb.indexes.plan``) compiled into SQL over an index file.

Each condition becomes a SELECT of distinct document numbers. Value conditions read the ``terms``
rows of their field in the order of its primary key ``(field, v, doc, ...)``: the typed key column
orders numbers before text before null and booleans (SQLite orders REAL < TEXT < BLOB, and null is
stored as the empty BLOB), so a numeric range stops at ``''`` and a text range at ``x''``.
``and``/``or``/``not`` are INTERSECT/UNION/EXCEPT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rookdb.indexes import fulltext, plan
from rookdb.indexes.values import Key

__all__ = ["Compiled", "StoreField", "compile_condition", "sql_key"]

_TOP = "\U0010ffff"  # after every character: "p" <= s < "p" + _TOP for every s starting with "p"
_NUMBER_TEXT_START = frozenset("-0123456789")
# A terms row's text: strings keep their lower-cased text in v; numbers and booleans their text in t;
# x holds a string as written when lower-casing changed it ('' otherwise).
_TEXT = "iif(t != '', t, v)"
_EXACT_STRING = "iif(x != '', x, v)"
_EXACT_TEXT = "iif(x != '', x, iif(t != '', t, v))"


@dataclass(frozen=True)
class StoreField:
    """A field of an index file: its number (search fields have table ``fts_<id>``), what it stores,
    and which sorted orders have been built."""

    id: int
    name: str
    terms: bool
    search: bool
    sorted_text: bool = False
    sorted_number: bool = False


@dataclass(frozen=True)
class Compiled:
    """A SELECT returning the distinct ``doc`` numbers a condition matches."""

    sql: str
    params: tuple[Any, ...]

    def wrapped(self) -> str:
        return f"SELECT doc FROM ({self.sql})"


EVERYTHING = Compiled("SELECT doc FROM docs", ())
NOTHING = Compiled("SELECT doc FROM docs WHERE 0", ())


def sql_key(key: Key) -> Any:
    """The ``terms.v`` value of a typed key (null is the empty BLOB, booleans one byte)."""
    kind = key[0]
    if kind == "null":
        return b""
    if kind == "bool":
        return b"\x01" if key[1] else b"\x00"
    return key[1]


def compile_condition(condition: plan.Condition, fields: Mapping[str, StoreField],
                      vocabulary: Callable[[int], fulltext.Vocabulary]) -> Compiled:
    """Compile ``condition``; ``vocabulary(number)`` lists a search field's words."""
    return _Compiler(fields, vocabulary).compile(condition)


class _Compiler:
    def __init__(self, fields: Mapping[str, StoreField],
                 vocabulary: Callable[[int], fulltext.Vocabulary]) -> None:
        self._fields = fields
        self._vocabulary = vocabulary

    def compile(self, condition: plan.Condition) -> Compiled:
        if isinstance(condition, plan.Everything):
            return EVERYTHING
        if isinstance(condition, plan.Nothing):
            return NOTHING
        if isinstance(condition, plan.And | plan.Or):
            if not condition.items:
                return EVERYTHING if isinstance(condition, plan.And) else NOTHING
            parts = [self.compile(item) for item in condition.items]
            return _intersection(parts) if isinstance(condition, plan.And) else _union(parts)
        if isinstance(condition, plan.Not):
            inner = self.compile(condition.item)
            return Compiled(f"SELECT doc FROM docs EXCEPT {inner.wrapped()}", inner.params)
        if isinstance(condition, plan.FullText):
            return self._full_text(condition)
        if condition.field == plan.ID_FIELD:
            return self._id(condition)
        known = self._fields.get(condition.field)
        if known is None or not known.terms:
            # A field no document has: only "= null" (which also means "missing") matches.
            missing = isinstance(condition, plan.Equals) and ("null",) in condition.keys
            return EVERYTHING if missing else NOTHING
        return self._value(condition, known.id)

    def _value(self, condition: plan.Condition, field: int) -> Compiled:
        rows = "SELECT DISTINCT doc FROM terms WHERE field = ? AND "
        if isinstance(condition, plan.Equals):
            return self._equals(condition, field)
        if isinstance(condition, plan.AllOf):
            if not condition.groups:
                return Compiled("SELECT doc FROM slots WHERE field = ? AND n > 0", (field,))
            return _intersection([self._has_value(field, group, condition.exact) for group in condition.groups])
        if isinstance(condition, plan.Range):
            return self._range(condition, field)
        if isinstance(condition, plan.Prefix):
            if condition.exact:
                return Compiled(rows + f"rk_starts({_EXACT_TEXT}, ?)", (field, condition.text))
            prefix = condition.text.lower()
            strings = Compiled(rows + "v >= ? AND v < ?", (field, prefix, prefix + _TOP))
            if not _may_prefix_a_number_or_boolean(prefix):
                return strings
            others = Compiled(rows + "t != '' AND t >= ? AND t < ?", (field, prefix, prefix + _TOP))
            return Compiled(f"{strings.wrapped()} UNION {others.wrapped()}", strings.params + others.params)
        if isinstance(condition, plan.Suffix):
            if condition.exact:
                return Compiled(rows + f"rk_ends({_EXACT_TEXT}, ?)", (field, condition.text))
            return Compiled(rows + f"rk_ends({_TEXT}, ?)", (field, condition.text.lower()))
        if isinstance(condition, plan.Pattern):
            return Compiled(rows + f"v >= '' AND v < x'' AND rk_regex({_EXACT_STRING}, ?)", (field, condition.pattern))
        if isinstance(condition, plan.Similar):
            return Compiled(rows + "v >= '' AND v < x'' AND rk_similar(v, ?, ?)",
                            (field, condition.text.lower(), condition.similarity))
        if isinstance(condition, plan.Present):
            return Compiled("SELECT doc FROM slots WHERE field = ? AND n IS NOT NULL", (field,))
        raise TypeError(f"not a value condition: {condition!r}")

    def _equals(self, condition: plan.Equals, field: int) -> Compiled:
        found = self._has_value(field, condition.keys, condition.exact)
        if ("null",) not in condition.keys:
            return found
        missing = Compiled("SELECT doc FROM slots WHERE field = ? AND (n IS NULL OR n = 0)", (field,))
        return _union([found, missing])

    def _has_value(self, field: int, keys: frozenset[Key], exact: bool) -> Compiled:
        """Documents holding a value with one of ``keys`` (the null key: a null value)."""
        parts: list[Compiled] = []
        plain = [sql_key(key) for key in keys if key[0] != "null" and not (exact and key[0] == "str")]
        if plain:
            marks = ",".join("?" * len(plain))
            parts.append(Compiled(f"SELECT DISTINCT doc FROM terms WHERE field = ? AND v IN ({marks})",
                                  (field, *plain)))
        for key in keys:
            if exact and key[0] == "str":
                parts.append(Compiled("SELECT DISTINCT doc FROM terms WHERE field = ? AND v = ? "
                                      f"AND {_EXACT_STRING} = ?", (field, key[1].lower(), key[1])))
        if ("null",) in keys:
            parts.append(Compiled("SELECT DISTINCT doc FROM terms WHERE field = ? AND v = x''", (field,)))
        return _union(parts)

    def _range(self, condition: plan.Range, field: int) -> Compiled:
        rows = "SELECT DISTINCT doc FROM terms WHERE field = ? AND "
        if condition.kind == "num":
            column, floor, ceiling = "v", None, "v < ''"
        elif condition.exact:
            column, floor, ceiling = _EXACT_STRING, "v >= ''", "v < x''"
        else:
            column, floor, ceiling = "v", "v >= ''", "v < x''"
        clauses, params = _bounds(column, condition)
        if floor is not None and (condition.low is None or condition.exact):
            clauses.insert(0, floor)
        if condition.high is None or condition.exact:
            clauses.append(ceiling)
        return Compiled(rows + " AND ".join(clauses), (field, *params))

    def _id(self, condition: plan.Condition) -> Compiled:
        """Conditions on ``id()``: the ``docs`` table (ids are strings, never null or missing)."""
        if isinstance(condition, plan.Equals | plan.AllOf):
            groups = [condition.keys] if isinstance(condition, plan.Equals) else list(condition.groups)
            parts = []
            for group in groups:
                strings = [str(key[1]) for key in group if key[0] == "str"]
                column = "id" if condition.exact else "lower_id"
                marks = ",".join("?" * len(strings))
                parts.append(Compiled(f"SELECT doc FROM docs WHERE {column} IN ({marks})", tuple(strings))
                             if strings else NOTHING)
            return _intersection(parts) if parts else EVERYTHING
        if isinstance(condition, plan.Range):
            if condition.kind != "str":
                return NOTHING
            clauses, params = _bounds("id" if condition.exact else "lower_id", condition)
            return Compiled(f"SELECT doc FROM docs WHERE {' AND '.join(['1', *clauses])}", tuple(params))
        if isinstance(condition, plan.Prefix):
            if condition.exact:
                return Compiled("SELECT doc FROM docs WHERE rk_starts(id, ?)", (condition.text,))
            prefix = condition.text.lower()
            return Compiled("SELECT doc FROM docs WHERE lower_id >= ? AND lower_id < ?", (prefix, prefix + _TOP))
        if isinstance(condition, plan.Suffix):
            if condition.exact:
                return Compiled("SELECT doc FROM docs WHERE rk_ends(id, ?)", (condition.text,))
            return Compiled("SELECT doc FROM docs WHERE rk_ends(lower_id, ?)", (condition.text.lower(),))
        if isinstance(condition, plan.Pattern):
            return Compiled("SELECT doc FROM docs WHERE rk_regex(id, ?)", (condition.pattern,))
        if isinstance(condition, plan.Similar):
            return Compiled("SELECT doc FROM docs WHERE rk_similar(lower_id, ?, ?)",
                            (condition.text.lower(), condition.similarity))
        if isinstance(condition, plan.Present):
            return EVERYTHING
        raise TypeError(f"not an id condition: {condition!r}")

    def _full_text(self, condition: plan.FullText) -> Compiled:
        known = self._fields.get(condition.field)
        if known is None or not known.search:
            return NOTHING
        expression = full_text_expression(condition, self._vocabulary(known.id))
        if expression is None:
            return NOTHING
        table = f"fts_{known.id}"
        if condition.slop is not None:
            return Compiled(f"SELECT rowid AS doc FROM {table} WHERE {table} MATCH ? AND "
                            f"{fulltext.SLOPPY_FUNCTION}(body, ?, ?) > 0",
                            (expression, " ".join(term.words[0] for term in condition.terms), condition.slop))
        return Compiled(f"SELECT rowid AS doc FROM {table} WHERE {table} MATCH ?", (expression,))


def _bounds(column: str, condition: plan.Range) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if condition.low is not None:
        clauses.append(f"{column} {'>=' if condition.low_inclusive else '>'} ?")
        params.append(condition.low)
    if condition.high is not None:
        clauses.append(f"{column} {'<=' if condition.high_inclusive else '<'} ?")
        params.append(condition.high)
    return clauses, params


def _intersection(parts: list[Compiled]) -> Compiled:
    return Compiled(" INTERSECT ".join(part.wrapped() for part in parts),
                    tuple(p for part in parts for p in part.params))


def _union(parts: list[Compiled]) -> Compiled:
    if not parts:
        return NOTHING
    if len(parts) == 1:
        return parts[0]
    return Compiled(" UNION ".join(part.wrapped() for part in parts), tuple(p for part in parts for p in part.params))


def full_text_expression(condition: plan.FullText, vocabulary: fulltext.Vocabulary) -> str | None:
    """The FTS5 query of a full-text condition (None: it matches nothing)."""
    return fulltext.match_expression(condition.terms, condition.require_all, vocabulary)


def _may_prefix_a_number_or_boolean(prefix: str) -> bool:
    if not prefix or prefix[0] in _NUMBER_TEXT_START:
        return True
    return any(word.startswith(prefix) for word in ("true", "false", "inf", "nan"))
