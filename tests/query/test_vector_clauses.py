"""Helpers of vector-only queries: the documents they scored, loaded in one read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rookdb.query.vector_clauses import load_scored
from tests.support.indexing import StorageSource, indexed_northwind


class ReadCounting(StorageSource):
    """Counts the reads of many documents at once."""

    reads = 0

    def get_documents(self, doc_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        self.reads += 1
        return super().get_documents(doc_ids)


def test_scored_documents_load_in_one_read_in_their_order_and_of_the_collection_only(tmp_path: Path) -> None:
    with indexed_northwind(tmp_path) as (source, _):
        counting = ReadCounting(source.storage)
        loaded = load_scored(counting, ["products/2-A", "categories/1-A", "products/missing", "PRODUCTS/1-A"],
                             "Products")
        assert [doc["@metadata"]["@id"] for doc in loaded] == ["products/2-A", "products/1-A"]
        assert counting.reads == 1 and counting.loaded == 4
