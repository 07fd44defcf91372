"""Full-text analysis and matching: RavenDB's default search analysis over SQLite FTS5.

Text is analysed into lower-cased words, split at anything that is not a letter, digit or ``_``
(the words ``\\w+`` finds), without stop words. The index stores each search field in its own FTS5
table as the analysed words joined by spaces, so FTS5's tokenizer sees exactly those words and its
BM25 ranking uses the field's own lengths and frequencies (as a Lucene field would).

A search text is split at whitespace into terms; each term is analysed into words (``anton's`` is
``anton`` and ``s``, both required). ``cook*`` matches words starting with ``cook`` (an FTS5 prefix
query); ``*sauce`` and ``*ant*`` are expanded over the field's vocabulary.

Relevance is scored by ``relevance``.

``proximity(search(Field, 'quick fox'), n)`` is Lucene's sloppy phrase: the words in order, moved
``n`` positions at most in all (a swap costs 2). Positions are counted as RavenDB's standard analyzer
counts them: English stop words (Lucene's list) take no position and words joined by ``_`` without
digits are separate (``quick_fox`` is ``quick`` and ``fox``, ``12_oz`` one word). ``search()`` itself
keeps stop words searchable (a superset of RavenDB, whose analyzer drops them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rookdb.indexes.plan import SearchTerm
from rookdb.indexes.values import leaves, text_of

__all__ = ["SLOPPY_FUNCTION", "STOP_WORDS", "TOKENIZER", "Phrase", "TermQuery", "analyze", "field_text",
           "match_expression", "phrase_words", "search_terms", "similar", "sloppy_frequency", "sloppy_in_body",
           "term_queries"]

TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '_'"
"""FTS5 tokenizer settings under which the stored words come back unchanged."""

_WORD = re.compile(r"\w+")
_DIGIT = re.compile(r"\d")

STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with"))
"""Lucene's English stop words, which RavenDB's standard analyzer removes."""

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


@dataclass(frozen=True)
class Phrase:
    """One FTS5 phrase: a word, or every word starting with it (``prefix``)."""

    word: str
    prefix: bool = False

    def expression(self) -> str:
        return '"' + self.word.replace('"', '""') + '"' + ("*" if self.prefix else "")


@dataclass(frozen=True)
class TermQuery:
    """The FTS5 phrases of one search term: all required (a term of several words) or any of them
    (wildcard expansions); each phrase is scored with its own weight."""

    phrases: tuple[Phrase, ...]
    require_all: bool = False

    def expression(self) -> str:
        return (" AND " if self.require_all else " OR ").join(phrase.expression() for phrase in self.phrases)


def term_queries(terms: Sequence[SearchTerm], vocabulary: Vocabulary) -> list[TermQuery | None]:
    """Each term's phrases; None for a term that matches nothing (a wildcard with no expansion)."""
    return [_term_query(term, vocabulary) for term in terms]


def match_expression(terms: Sequence[SearchTerm], require_all: bool, vocabulary: Vocabulary) -> str | None:
    """The FTS5 query for ``terms`` (any of them, or all with ``require_all``); None matches nothing."""
    parts = term_queries(terms, vocabulary)
    if require_all:
        if not parts or any(part is None for part in parts):
            return None
        return " AND ".join(f"({part.expression()})" for part in parts if part is not None)
    found = [part for part in parts if part is not None]
    return " OR ".join(f"({part.expression()})" for part in found) if found else None


def phrase_words(words: Iterable[str]) -> list[str]:
    """Analysed words as a phrase counts their positions: ``_``-joined letters split, stop words dropped."""
    found: list[str] = []
    for word in words:
        parts = word.split("_") if "_" in word and not _DIGIT.search(word) else (word,)
        found.extend(part for part in parts if part and part not in STOP_WORDS)
    return found


SLOPPY_FUNCTION = "rk_sloppy"
"""The SQL function an index's readers call as ``rk_sloppy(body, phrase, slop)``: ``sloppy_in_body``."""


def sloppy_in_body(body: object, phrase: str, slop: int) -> float:
    """The sloppy frequency of ``phrase`` (its words joined by spaces) in a search field's stored text."""
    if not isinstance(body, str):
        return 0.0
    return sloppy_frequency(phrase_words(body.split()), phrase.split(), slop)


def sloppy_frequency(words: Sequence[str], phrase: Sequence[str], slop: int) -> float:
    """Lucene's sloppy phrase frequency of ``phrase`` in ``words`` (both from ``phrase_words``): the sum
    of ``1 / (1 + distance)`` over the places the phrase occurs at most ``slop`` moves away; 0 when none."""
    if not phrase:
        return 0.0
    places: dict[str, list[int]] = {}
    for position, word in enumerate(words):
        places.setdefault(word, []).append(position)
    # Each phrase word's positions shifted by its place in the phrase: an exact phrase lines them up.
    offsets = [[position - index for position in places.get(word, ())] for index, word in enumerate(phrase)]
    if any(not found for found in offsets):
        return 0.0
    cursors = [0] * len(offsets)
    frequency = 0.0
    while True:
        current = [found[cursor] for found, cursor in zip(offsets, cursors, strict=True)]
        low, high = min(current), max(current)
        if high - low <= slop:
            frequency += 1.0 / (1 + high - low)
        lowest = current.index(low)
        cursors[lowest] += 1
        if cursors[lowest] == len(offsets[lowest]):
            return frequency


def similar(text: str, term: str, similarity: float) -> bool:
    """Lucene's fuzzy test: ``text`` matches ``term`` when ``1 - distance / min(lengths)`` exceeds
    ``similarity``, ``distance`` being the Levenshtein distance (both compared as given)."""
    shorter = min(len(text), len(term))
    if shorter == 0:
        return False
    # Past this distance the similarity cannot exceed the threshold: stop early.
    most = int((1.0 - similarity) * shorter)
    if abs(len(text) - len(term)) > most:
        return False
    previous = list(range(len(term) + 1))
    for row, char in enumerate(text, start=1):
        current = [row]
        for column, other in enumerate(term, start=1):
            current.append(min(previous[column] + 1, current[column - 1] + 1,
                               previous[column - 1] + (char != other)))
        if min(current) > most:
            return False
        previous = current
    return 1.0 - previous[-1] / shorter > similarity


def _term_query(term: SearchTerm, vocabulary: Vocabulary) -> TermQuery | None:
    if len(term.words) > 1:  # e.g. "anton's": every word must be present, wildcards or not
        return TermQuery(tuple(Phrase(word) for word in term.words), require_all=True)
    word = term.words[0]
    if term.similarity is not None:
        similarity = term.similarity
        expanded = vocabulary(lambda candidate: similar(candidate, word, similarity))
        return TermQuery(tuple(Phrase(candidate) for candidate in expanded)) if expanded else None
    if term.leading_wildcard:
        if term.trailing_wildcard:
            expanded = vocabulary(lambda candidate: word in candidate)
        else:
            expanded = vocabulary(lambda candidate: candidate.endswith(word))
        return TermQuery(tuple(Phrase(candidate) for candidate in expanded)) if expanded else None
    return TermQuery((Phrase(word, prefix=term.trailing_wildcard),))
