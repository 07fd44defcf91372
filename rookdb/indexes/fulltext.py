"""Full-text analysis and matching: RavenDB's default search analysis over SQLite FTS5.

Text is analysed into lower-cased words, split at anything that is not a letter, digit or ``_``
(the words ``\\w+`` finds), without stop words. The index stores each search field in its own FTS5
table as the analysed words joined by spaces, so FTS5's tokenizer sees exactly those words and its
BM25 ranking uses the field's own lengths and frequencies (as a Lucene field would).

A search text is split at whitespace into terms; each term is analysed into words (``anton's`` is
``anton`` and ``s``, both required). ``cook*`` matches words starting with ``cook`` (an FTS5 prefix
query); ``*sauce`` and ``*ant*`` are expanded over the field's vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from rookdb.indexes.plan import SearchTerm
from rookdb.indexes.values import leaves, text_of

__all__ = ["TOKENIZER", "analyze", "field_text", "match_expression", "search_terms"]

TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '_'"
"""FTS5 tokenizer settings under which the stored words come back unchanged."""

_WORD = re.compile(r"\w+")

Vocabulary = Callable[[Callable[[str], bool]], list[str]]
"""Returns the field's indexed words that satisfy a predicate (for leading wildcards)."""


def analyze(text: str) -> list[str]:
    """The words of ``text``, lower-cased."""
    return _WORD.findall(text.lower())


def field_text(values: Iterable[object]) -> str:
    """What a search field stores for the values it reached: the analysed words of every value's text."""
    words: list[str] = []
    for value in leaves(values):
        text = text_of(value)
        if text:
            words.extend(analyze(text))
    return " ".join(words)


def search_terms(text: str) -> tuple[SearchTerm, ...]:
    """The terms of a ``search()`` text; terms without words (``***``, punctuation) are dropped."""
    terms = []
    for word in text.split():
        words = tuple(analyze(word.strip("*")))
        if words:
            terms.append(SearchTerm(words, word.startswith("*"), word.endswith("*")))
    return tuple(terms)


def match_expression(terms: Sequence[SearchTerm], require_all: bool, vocabulary: Vocabulary) -> str | None:
    """The FTS5 query for ``terms`` (any of them, or all with ``require_all``); None matches nothing."""
    parts = [_term_expression(term, vocabulary) for term in terms]
    if require_all:
        if not parts or any(part is None for part in parts):
            return None
        return " AND ".join(f"({part})" for part in parts if part is not None)
    found = [part for part in parts if part is not None]
    return " OR ".join(f"({part})" for part in found) if found else None


def _term_expression(term: SearchTerm, vocabulary: Vocabulary) -> str | None:
    if len(term.words) > 1:  # e.g. "anton's": every word must be present, wildcards or not
        return " AND ".join(_quoted(word) for word in term.words)
    word = term.words[0]
    if term.leading_wildcard:
        if term.trailing_wildcard:
            expanded = vocabulary(lambda candidate: word in candidate)
        else:
            expanded = vocabulary(lambda candidate: candidate.endswith(word))
        return " OR ".join(_quoted(candidate) for candidate in expanded) or None
    if term.trailing_wildcard:
        return _quoted(word) + "*"
    return _quoted(word)


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'
