"""What a query can ask an index: the matching conditions and ordering keys an index answers.

The query layer translates RQL into these nodes (``rookdb.query.planner``); the index compiles them
into lookups of its own store. Field names are the index's stored field names; ``ID_FIELD`` stands
for the document id. Keys are typed equality keys (``rookdb.indexes.values``).

Matching a field looks at each value the field holds (arrays fan out): a condition holds when one of
them satisfies it. ``Equals`` with the null key also matches documents where the field holds no
value at all (missing, or an empty array), as RavenDB indexes a missing field as null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from rookdb.indexes.values import Key

__all__ = [
    "ID_FIELD",
    "AllOf",
    "And",
    "Condition",
    "Equals",
    "Everything",
    "FullText",
    "Not",
    "Nothing",
    "Or",
    "Pattern",
    "Prefix",
    "Present",
    "Range",
    "SearchTerm",
    "SortKey",
    "Suffix",
]

ID_FIELD = "id()"
"""The field name that stands for the document id (compared case-insensitively unless exact)."""


@dataclass(frozen=True)
class Equals:
    """A value of ``field`` has one of ``keys``; with ``exact`` strings compare case-sensitively."""

    field: str
    keys: frozenset[Key]
    exact: bool = False


@dataclass(frozen=True)
class AllOf:
    """Every key group is met by some value of ``field`` (``all in``); no groups: any value at all."""

    field: str
    groups: tuple[frozenset[Key], ...]
    exact: bool = False


@dataclass(frozen=True)
class Range:
    """A value of ``field`` of the same kind (``num`` or ``str``) lies within the bounds (None: open)."""

    field: str
    kind: Literal["num", "str"]
    low: float | str | None
    high: float | str | None
    low_inclusive: bool = True
    high_inclusive: bool = True
    exact: bool = False


@dataclass(frozen=True)
class Prefix:
    """A value's text starts with ``text`` (case-insensitively unless ``exact``)."""

    field: str
    text: str
    exact: bool = False


@dataclass(frozen=True)
class Suffix:
    """A value's text ends with ``text`` (case-insensitively unless ``exact``)."""

    field: str
    text: str
    exact: bool = False


@dataclass(frozen=True)
class Pattern:
    """A string value matches the regular expression ``pattern`` (Python ``re.search``)."""

    field: str
    pattern: str


@dataclass(frozen=True)
class Similar:
    """A string value within Lucene's fuzzy ``similarity`` of ``text`` (``fuzzy()``; case-insensitive)."""

    field: str
    text: str
    similarity: float


@dataclass(frozen=True)
class Present:
    """The document has the field, even when it is null or an empty array (``exists``)."""

    field: str


@dataclass(frozen=True)
class SearchTerm:
    """One word of a ``search()``: its analysed words, and wildcards before and after it; with
    ``similarity``, any word of the field that is that similar (Lucene's fuzzy term)."""

    words: tuple[str, ...]
    leading_wildcard: bool = False
    trailing_wildcard: bool = False
    similarity: float | None = None


@dataclass(frozen=True)
class FullText:
    """Full-text match of ``field``: any term (or every term with ``require_all``); scored by relevance.
    With ``slop``, the terms are a sloppy phrase (``proximity()``): one word each, all required."""

    field: str
    terms: tuple[SearchTerm, ...]
    require_all: bool = False
    slop: int | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class Everything:
    """Every document of the index."""


@dataclass(frozen=True)
class Nothing:
    """No document."""


Condition: TypeAlias = (
    Equals | AllOf | Range | Prefix | Suffix | Pattern | Similar | Present | FullText | And | Or | Not | Everything
    | Nothing
)


@dataclass(frozen=True)
class SortKey:
    """Order by a field's first value: its text (``text``) or its number (``number``).

    Documents whose value has no such form sort first when ``missing_first``, else last; ties keep
    the index's document order (the order documents were last written).
    """

    field: str
    form: Literal["text", "number"]
    descending: bool = False
    missing_first: bool = True
