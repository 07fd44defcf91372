"""Highlight fragments: the matched words tagged, fragments cut at words."""

from __future__ import annotations

import pytest

from rookdb.indexes.fulltext import search_terms
from rookdb.query.highlighting import DEFAULT_POST_TAGS, DEFAULT_PRE_TAGS, fragments

TEXT = ("Itamar Syn-Hershko: Afraid of Map/Reduce? In this session, core RavenDB developer Itamar Syn-Hershko "
        "will walk through the RavenDB indexing process, grok it and much more.")


@pytest.mark.parametrize(("terms", "length", "count", "expected"), [
    ("RavenDB", 128, 2, ["Syn-Hershko: Afraid of Map/Reduce? In this session, core [RavenDB] developer Itamar "
                         "Syn-Hershko will walk through the [RavenDB]"]),
    ("ravendb itamar", 40, 3, ["[Itamar] Syn-Hershko: Afraid of Map/Reduce", "session, core [RavenDB] developer "
                               "[Itamar]", "through the [RavenDB] indexing process,"]),
    ("ravendb itamar", 40, 1, ["[Itamar] Syn-Hershko: Afraid of Map/Reduce"]),
    ("index* *shko", 30, 5, ["Itamar Syn-[Hershko]: Afraid of", "Itamar Syn-[Hershko] will walk",
                             "RavenDB [indexing] process, grok"]),
    ("nothing", 128, 2, []),
])
def test_fragments(terms: str, length: int, count: int, expected: list[str]) -> None:
    assert fragments(TEXT, search_terms(terms), length, count, ["["], ["]"]) == expected


def test_default_tags_colour_each_term() -> None:
    found = fragments("chef anton", search_terms("anton chef"), 100, 1, DEFAULT_PRE_TAGS, DEFAULT_POST_TAGS)
    assert found == ['<b style="background:lawngreen">chef</b> <b style="background:yellow">anton</b>']
