"""Loading: ETags of load answers, and ids by prefix with RavenDB's matches/exclude wildcards."""

from __future__ import annotations

import pytest

from rookdb.documents.database import Database
from rookdb.documents.loading import load_documents, load_starting_with, wildcards

IDS = ["products/MB-200", "products/MB-201", "products/MB-100", "products/MB-101", "products/BM-100",
       "products/BM-200"]


@pytest.fixture
def products(database: Database) -> Database:
    for doc_id in IDS:
        database.put(doc_id, {"@metadata": {"@collection": "Products"}})
    return database


@pytest.mark.parametrize(("pattern", "text", "matched"), [
    ("2*", "200", True), ("2*", "100", False), ("?0?", "201", True), ("?0?", "2001", False),
    ("1*|20?", "201", True), ("1*|20?", "300", False), ("A*", "abc", True), ("a.c", "abc", False),
])
def test_wildcards(pattern: str, text: str, matched: bool) -> None:
    compiled = wildcards(pattern)
    assert compiled is not None and bool(compiled.match(text)) is matched


@pytest.mark.parametrize(("prefix", "options", "expected"), [
    ("products/MB-", {}, ["products/MB-100", "products/MB-101", "products/MB-200", "products/MB-201"]),
    ("products/MB-", {"matches": "2*"}, ["products/MB-200", "products/MB-201"]),
    ("products/BM-", {"exclude": "2*"}, ["products/BM-100"]),
    ("products/MB-", {"matches": "2*", "start_after": "products/MB-200"}, ["products/MB-201"]),
    ("products/MB-", {"matches": "*0?", "start": 1, "page_size": 2}, ["products/MB-101", "products/MB-200"]),
    ("products/mb", {"start": 1, "page_size": 2}, ["products/MB-101", "products/MB-200"]),
])
def test_load_starting_with(products: Database, prefix: str, options: dict[str, object],
                            expected: list[str]) -> None:
    found = load_starting_with(products, prefix, **options)  # type: ignore[arg-type]
    assert [document.id for document in found] == expected


def test_etags_follow_every_document_of_an_answer(products: Database) -> None:
    one = load_documents(products, ["products/MB-100"], [])
    first = one.documents[0]
    assert first is not None and one.etag() == first.change_vector
    several = load_documents(products, ["products/MB-100", "products/none"], [])
    before = several.etag()
    assert before == load_documents(products, ["products/MB-100", "products/none"], []).etag()
    products.put("products/none", {"@metadata": {"@collection": "Products"}})
    assert load_documents(products, ["products/MB-100", "products/none"], []).etag() != before
