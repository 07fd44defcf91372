"""``include highlight(field, length, count[, $options])``: RavenDB's ``Highlightings``.

For each result, up to ``count`` fragments of about ``length`` characters of the field's text, each
around words that the query's ``search()`` clauses on that field matched, with those words wrapped in
tags: the options' ``PreTags``/``PostTags``, else RavenDB's coloured ones (one colour per search term).
Results are keyed by document id, or by the value of the options' ``GroupKey`` field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rookdb.indexes.fulltext import search_terms
from rookdb.indexes.plan import SearchTerm
from rookdb.indexes.values import leaves, text_of
from rookdb.query import ast
from rookdb.query.bindings import Bindings, doc_id
from rookdb.query.results import Row

__all__ = ["DEFAULT_POST_TAGS", "DEFAULT_PRE_TAGS", "fragments", "highlightings"]

DEFAULT_PRE_TAGS = tuple(f'<b style="background:{colour}">' for colour in (
    "yellow", "lawngreen", "aquamarine", "magenta", "palegreen", "coral", "wheat", "khaki", "lime", "deepskyblue"))
DEFAULT_POST_TAGS = ("</b>",)

_WORD = re.compile(r"\w+")
_WORD_START = re.compile(r"\b\w")


def highlightings(query: ast.Query, bindings: Bindings, page: Sequence[Row]) -> dict[str, dict[str, list[str]]]:
    """The ``Highlightings`` of a page: field → key → fragments (keys without a fragment left out)."""
    found: dict[str, dict[str, list[str]]] = {}
    for highlight in query.highlights:
        names = bindings.names(highlight.field)
        terms = _terms_on(query.where, names, bindings)
        options = bindings.value(highlight.options) if highlight.options is not None else None
        options = options if isinstance(options, dict) else {}
        pre = tuple(options.get("PreTags") or ()) or DEFAULT_PRE_TAGS
        post = tuple(options.get("PostTags") or ()) or DEFAULT_POST_TAGS
        group_key = options.get("GroupKey")
        by_key = found.setdefault(highlight.field.dotted, {})
        for document, result in page:
            key = result.get(group_key) if isinstance(group_key, str) else doc_id(document)
            texts = [text for value in leaves(bindings.getter(highlight.field)(document) or
                                              bindings.getter(highlight.field)(result))
                     if (text := text_of(value)) is not None]
            parts = fragments(" ".join(texts), terms, highlight.fragment_length, highlight.fragment_count, pre, post)
            if parts:
                by_key[str(key)] = parts
    return found


def fragments(text: str, terms: Sequence[SearchTerm], length: int, count: int, pre: Sequence[str],
              post: Sequence[str]) -> list[str]:
    """Up to ``count`` fragments of ``text`` of about ``length`` characters around the words that
    ``terms`` match, those words between the term's pre and post tags."""
    hits = [(match.start(), match.end(), term) for match in _WORD.finditer(text)
            if (term := _matching_term(match.group().lower(), terms)) is not None]
    found: list[str] = []
    at = 0
    while at < len(hits) and len(found) < count:
        first_start, first_end, _ = hits[at]
        start = max(0, first_start - max(length - (first_end - first_start), 0) // 2)
        if start > 0:  # begin at a word, never inside one
            boundary = _WORD_START.search(text, start)
            start = min(boundary.start(), first_start) if boundary else first_start
        end = max(min(len(text), start + length), first_end)
        pieces: list[str] = []
        cursor = start
        while at < len(hits) and hits[at][1] <= end:
            hit_start, hit_end, term = hits[at]
            pieces += [text[cursor:hit_start], pre[term % len(pre)], text[hit_start:hit_end], post[term % len(post)]]
            cursor = hit_end
            at += 1
        tail = text[cursor:end]
        if end < len(text) and _WORD.fullmatch(text[end - 1:end + 1]):  # do not end inside a word
            tail = re.sub(r"\w+$", "", tail)
        found.append(("".join(pieces) + tail).strip())
    return found


def _matching_term(word: str, terms: Sequence[SearchTerm]) -> int | None:
    for number, term in enumerate(terms):
        for wanted in term.words:
            if (word == wanted or (term.trailing_wildcard and not term.leading_wildcard and word.startswith(wanted))
                    or (term.leading_wildcard and not term.trailing_wildcard and word.endswith(wanted))
                    or (term.leading_wildcard and term.trailing_wildcard and wanted in word)):
                return number
    return None


def _terms_on(where: ast.Expr | None, names: tuple[str, ...], bindings: Bindings) -> list[SearchTerm]:
    """The search terms of every ``search()`` on the field (numbered in order, for the tag colours)."""
    terms: list[SearchTerm] = []
    for node in where.walk() if where is not None else ():
        if isinstance(node, ast.Search) and isinstance(node.field, ast.FieldPath) and \
                bindings.names(node.field) == names:
            terms.extend(search_terms(str(_text(bindings.value(node.value)))))
    return terms


def _text(value: Any) -> str:
    return "" if value is None else str(value)
