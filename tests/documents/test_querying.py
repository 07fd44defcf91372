"""Queries on a database: hybrid search over Northwind with the embedded model, and how long a query waits
for its index."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.querying import is_short, run_query, wait_for_non_stale_seconds
from rookdb.documents.sample_data import import_sample
from rookdb.documents.services import DatabaseServices
from rookdb.query.scoring import FUSION_PARAMETER

VECTOR = "vector.search(embedding.text(Name), $v)"
TEXT = "search(Name, $t)"
TERMS = {"v": "italian food", "t": "alice"}


def names(database: DatabaseServices, where: str, **extra: Any) -> list[str]:
    result = run_query(database.database, f"from Products where {where}", {**TERMS, **extra}, wait_for_non_stale=60,
                       indexes=database.indexes, vectors=database.vectors)
    scores = [item["@metadata"]["@index-score"] for item in result.results]
    assert scores == sorted(scores, reverse=True)
    return [item["Name"] for item in result.results]


def test_hybrid_search_finds_what_neither_side_ranks_first(catalog: DatabaseCatalog) -> None:
    northwind = catalog.create("Northwind")
    import_sample(northwind.database)
    assert names(northwind, VECTOR)[0] == "Mozzarella di Giovanni"  # Italian by meaning
    assert names(northwind, TEXT) == ["Alice Mutton", "Gnocchi di nonna Alice"]  # by the word
    # RavenDB's sum: unbounded BM25 outweighs similarity unless a boost balances the sides.
    assert names(northwind, f"{VECTOR} or {TEXT}")[:2] == ["Alice Mutton", "Gnocchi di nonna Alice"]
    assert names(northwind, f"boost({VECTOR}, 4) or {TEXT}")[0] == "Gnocchi di nonna Alice"
    # Reciprocal rank fusion needs no tuning: the product high on both lists comes first.
    fused = names(northwind, f"{VECTOR} or {TEXT}", **{FUSION_PARAMETER: "rrf"})
    assert fused[0] == "Gnocchi di nonna Alice" and set(fused[1:3]) == {"Alice Mutton", "Mozzarella di Giovanni"}


@pytest.mark.parametrize(("body", "seconds"), [
    ({"Query": "from Orders"}, None),
    ({"WaitForNonStaleResults": True}, 15.0),
    ({"WaitForNonStaleResults": True, "WaitForNonStaleResultsTimeout": "00:00:05"}, 5.0),
    ({"WaitForNonStaleResults": True, "WaitForNonStaleResultsTimeout": 2500}, 2.5),  # the Node.js client's ms
])
def test_how_long_a_query_waits_for_its_index(body: dict[str, Any], seconds: float | None) -> None:
    assert wait_for_non_stale_seconds(body) == seconds


@pytest.mark.parametrize(("query", "short"), [
    ("from Items where vector.search(Vector, $v)", True),
    ("from Items where vector.search(embedding.text(Name), $v)", True),
    ("from Items where vector.search(embedding.text(Name), embedding.forDoc($id))", True),
    ("from Items where vector.search(Vector, $v) order by Name", False),
    # A plain filter reads one snapshot of its auto-index; ordering, projections, includes and scoring do not.
    ("from Items where Name = $n", True),
    ("from Items where Price > 10 and Tags in ($tags) limit 5", True),
    ("from Items where Name = $n order by Price", False),
    ("from Items where Name = $n select Price", False),
    ("from Items where Name = $n include Supplier", False),
    ("from Items where search(Name, $n)", False),
    ("from Items", False),
    ("from index 'Items/ByName' where Name = $n", False),
    # A term a task's model embeds always waits for the embeddings cache or the provider: on a thread at once.
    ("from Items where vector.search(embedding.text(Name, ai.task('names')), $v)", False),
    ("from Items where vector.search(embedding.text(Name, ai.task('names')), embedding.forDoc($id))", True),
    ("from Items where vector.search(Vector, embedding.text($t, ai.task('names')))", False),
    ("from Items where vector.search(Vector, $v) or vector.search(embedding.text(Name, ai.task($task)), $t)", False),
])
def test_which_queries_are_tried_on_the_event_loop(query: str, short: bool) -> None:
    assert is_short(query, None) is short
    assert not is_short(query, 5.0)


def test_a_plain_query_keeps_its_plan_across_runs(catalog: DatabaseCatalog) -> None:
    services = catalog.create("Plans")
    services.database.insert_many(((f"items/{n}", {"Name": f"Item {n}", "@metadata": {"@collection": "Items"}})
                                   for n in range(50)), batch_size=50)
    text = "from Items where Name = $n"

    def run(name: str, wait: float | None = None) -> Any:
        return run_query(services.database, text, {"n": name}, wait_for_non_stale=wait, indexes=services.indexes,
                         vectors=services.vectors)

    waited = run("item 7", wait=30)  # creates the index: no plan is made while waiting
    assert len(services.indexes.prepared) == 0
    for name in ("item 7", "ITEM 8", "item 99"):
        result = run(name)
        assert [item["Name"] for item in result.results] == [name.capitalize()] * (name != "item 99")
        assert (result.index_name, result.is_stale) == (waited.index_name, False)
        assert result.result_etag == waited.result_etag
    assert len(services.indexes.prepared) == 1
