"""Vector search through RQL on real databases: every field and query form, tasks, errors, staleness.

Text is embedded by the embedded model, as RavenDB embeds ``embedding.text(Field)`` with its own.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from ravendb.documents.queries.vector import VectorQuantizer

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings, render_connection_string
from rookdb.ai.embedded_model import EmbeddedModel, get_embedded_model
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.querying import run_query
from rookdb.documents.sample_data import import_sample, sample_documents
from rookdb.documents.services import DatabaseServices
from rookdb.errors import InvalidQueryError
from rookdb.query.executor import QueryResult
from rookdb.settings import Settings
from tests.support.vectors import clustered

WAIT = 60.0  # seconds a test lets an index catch up


def query(database: DatabaseServices, rql: str, start: int = 0, page_size: int | None = None, **parameters: Any
          ) -> QueryResult:
    return run_query(database.database, rql, parameters, start=start, page_size=page_size,
                     wait_for_non_stale=WAIT, indexes=database.indexes, vectors=database.vectors)


def ids(result: QueryResult) -> list[str]:
    return [item["@metadata"]["@id"] for item in result.results]


def scores(result: QueryResult) -> list[float]:
    return [item["@metadata"]["@index-score"] for item in result.results]


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[DatabaseCatalog]:
    opened = DatabaseCatalog(tmp_path, Settings())
    yield opened
    opened.close()


@pytest.fixture
def database(catalog: DatabaseCatalog) -> DatabaseServices:
    return catalog.create("vectors")


@pytest.fixture(scope="module")
def northwind_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServices]:
    catalog = DatabaseCatalog(tmp_path_factory.mktemp("northwind"), Settings())
    database = catalog.create("Northwind")
    import_sample(database.database)
    yield database
    catalog.close()


@pytest.fixture(scope="module")
def model() -> EmbeddedModel:
    return get_embedded_model()


PRODUCTS = [doc for doc in sample_documents("northwind") if doc["@metadata"]["@collection"] == "Products"]


def independent_ranking(model: EmbeddedModel, text: str) -> list[tuple[str, float]]:
    """Products by cosine similarity of their names to ``text``, computed without rookdb's index."""
    vectors = model.embed([doc["Name"] for doc in PRODUCTS])
    similarities = vectors @ model.embed([text])[0]
    ranked = sorted(zip(PRODUCTS, similarities.tolist(), strict=True), key=lambda pair: -pair[1])
    return [(doc["@metadata"]["@id"], score) for doc, score in ranked]


def put_all(database: DatabaseServices, documents: Sequence[tuple[str, dict[str, Any]]]) -> None:
    database.database.insert_many(
        (doc_id, {**body, "@metadata": {"@collection": "Items"}}) for doc_id, body in documents)


# ---- text with the embedded model ----------------------------------------------------------------


def test_italian_food_ranks_as_the_model_does(northwind_db: DatabaseServices, model: EmbeddedModel) -> None:
    expected = independent_ranking(model, "italian food")
    result = query(northwind_db, "from Products where vector.search(embedding.text(Name), 'italian food')")
    assert result.index_name == "Auto/Products/ByVector.search(embedding.text(Name))"
    assert not result.is_stale
    assert ids(result) == [doc_id for doc_id, _ in expected[:16]]  # 16 candidates by default
    assert scores(result) == pytest.approx([score for _, score in expected[:16]], abs=1e-4)
    top = {item["Name"] for item in result.results[:10]}
    assert {"Mozzarella di Giovanni", "Ravioli Angelo", "Gorgonzola Telino", "Gnocchi di nonna Alice"} <= top


def test_exact_and_quantized_text_fields(northwind_db: DatabaseServices, model: EmbeddedModel) -> None:
    expected = [doc_id for doc_id, _ in independent_ranking(model, "cheese")]
    exact = query(northwind_db, "from Products where exact(vector.search(embedding.text(Name), $t, null, 10))",
                  t="cheese")
    assert ids(exact) == expected[:10]
    for kind in ("text_i8", "text_i1"):
        result = query(northwind_db, f"from Products where vector.search(embedding.{kind}(Name), $t, null, 20)",
                       t="cheese")
        assert result.index_name == f"Auto/Products/ByVector.search(embedding.{kind}(Name))"
        assert len(set(ids(result)[:5]) & set(expected[:10])) >= 4, kind


def test_no_embedding_collections_for_the_embedded_model(northwind_db: DatabaseServices) -> None:
    query(northwind_db, "from Products where vector.search(embedding.text(Name), 'seafood')")
    assert not [name for name in northwind_db.database.storage.collection_counts() if name.startswith("@embeddings")]


def test_filters_order_paging_and_minimum_similarity(northwind_db: DatabaseServices, model: EmbeddedModel) -> None:
    ranking = independent_ranking(model, "sweet dessert")
    prices = {doc["@metadata"]["@id"]: doc["PricePerUnit"] for doc in PRODUCTS}
    filtered = query(northwind_db, "from Products where vector.search(embedding.text(Name), $t) and PricePerUnit > $p",
                     t="sweet dessert", p=20)
    assert filtered.index_name == "Auto/Products/ByPricePerUnitAndVector.search(embedding.text(Name))"
    # Under 1024 filtered documents the search is exact over them, as RavenDB does.
    assert ids(filtered) == [doc_id for doc_id, _ in ranking if prices[doc_id] > 20][:16]

    ordered = query(northwind_db, "from Products where vector.search(embedding.text(Name), $t) order by Name", t="tea")
    names = [item["Name"] for item in ordered.results]
    assert names == sorted(names) and len(names) == 16

    everything = query(northwind_db, "from Products where vector.search(embedding.text(Name), $t, null, 30)", t="tea")
    page = query(northwind_db, "from Products where vector.search(embedding.text(Name), $t, null, 30)", start=10,
                 page_size=5, t="tea")
    assert ids(page) == ids(everything)[10:15] and page.total_results == 30

    # minimumSimilarity s keeps cosine >= 2s - 1 (kinds.minimum_score).
    strict = query(northwind_db, "from Products where vector.search(embedding.text(Name), $t, 0.7, 50)", t="tea")
    assert strict.results and min(scores(strict)) >= 0.4 - 1e-6
    assert len(strict.results) == sum(1 for _, score in independent_ranking(model, "tea") if score >= 0.4 - 1e-6)


def test_combined_clauses_and_boost(northwind_db: DatabaseServices) -> None:
    both = query(northwind_db, "from Products where vector.search(embedding.text(Name), 'cheese', null, 20) and "
                            "vector.search(embedding.text(QuantityPerUnit), 'kg pkg', null, 40)")
    assert both.index_name == ("Auto/Products/ByVector.search(embedding.text(Name))"
                               "AndVector.search(embedding.text(QuantityPerUnit))")
    cheese = set(ids(query(northwind_db,
                           "from Products where vector.search(embedding.text(Name), 'cheese', null, 20)")))
    assert set(ids(both)) <= cheese
    either = query(northwind_db, "from Products where vector.search(embedding.text(Name), 'tea') or "
                              "boost(vector.search(embedding.text(Name), 'beer'), 10)")
    beer = query(northwind_db, "from Products where vector.search(embedding.text(Name), 'beer')")
    assert ids(either)[:3] == ids(beer)[:3]
    assert scores(either)[0] >= 10 * scores(beer)[0] - 1e-6  # boosted tenfold, plus its 'tea' score if any


# ---- numeric fields --------------------------------------------------------------------------------


def test_every_numeric_field_form(database: DatabaseServices) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, 16)).astype(np.float32)
    documents = []
    for number, vector in enumerate(vectors):
        floats = vector.tolist()
        documents.append((f"items/{number}", {
            "Raw": floats,
            "Wrapped": {"@vector": floats},
            "Encoded": base64.b64encode(vector.astype("<f4").tobytes()).decode(),
            "I8": VectorQuantizer.to_int8(floats),
            "I1": VectorQuantizer.to_int1(floats),
        }))
    put_all(database, documents)
    target = vectors[7]
    floats = target.tolist()
    forms = {
        "vector.search(Raw, $v)": floats,
        "vector.search(Wrapped, $v)": {"@vector": floats},
        "vector.search(Encoded, $v)": base64.b64encode(target.astype("<f4").tobytes()).decode(),
        "vector.search(embedding.f32_i8(Raw), $v)": floats,
        "vector.search(embedding.f32_i1(Raw), $v)": floats,
        "vector.search(embedding.i8(I8), $v)": VectorQuantizer.to_int8(floats),
        "vector.search(embedding.i1(I1), $v)": VectorQuantizer.to_int1(floats),
        "exact(vector.search(Raw, $v))": floats,
    }
    for clause, value in forms.items():
        result = query(database, f"from Items where {clause}", v=value)
        assert ids(result)[0] == "items/7", clause
        assert scores(result)[0] == pytest.approx(1.0, abs=1e-3), clause
    binary = query(database, "from Items where vector.search(embedding.i1(I1), $v)", v=VectorQuantizer.to_int1(floats))
    assert all(0.0 <= score <= 1.0 for score in scores(binary))  # Hamming similarity


def test_for_doc_uses_the_indexed_vector(database: DatabaseServices) -> None:
    put_all(database, [("items/1", {"V": [1, 0, 0]}), ("items/2", {"V": [0.9, 0.1, 0]}), ("items/3", {"V": [0, 0, 1]})])
    result = query(database, "from Items where vector.search(V, embedding.forDoc($id))", id="items/1")
    assert ids(result)[:2] == ["items/1", "items/2"]  # the document itself is included
    literal = query(database, "from Items where vector.search(V, embedding.forDoc('ITEMS/3'))")
    assert ids(literal)[0] == "items/3"
    assert ids(query(database, "from Items where vector.search(V, embedding.forDoc('items/404'))")) == []


def test_for_doc_with_a_null_id_names_the_client_bug(database: DatabaseServices) -> None:
    put_all(database, [("items/1", {"Name": "x"})])
    with pytest.raises(InvalidQueryError) as raised:
        query(database, "from Items where vector.search(embedding.text(Name), embedding.forDoc($p0), 0.8)", p0=None)
    message = raised.value.message
    assert "null document id" in message and "vector_search_text_for_document" in message
    assert "raw_query(\"from 'Items' where vector.search(embedding.text(Name), embedding.forDoc($id))\")" in message


@pytest.mark.parametrize(("rql", "parameters", "message"), [
    ("from Items where vector.search(V, $v)", {"v": [1, 0]}, "has 2 dimensions but field 'V' has 3"),
    ("from Items where vector.search(V, $v)", {"v": True}, "is a boolean"),
    ("from Items where vector.search(V, $v)", {"v": "italian food"}, "not valid Base64"),
    ("from Items where vector.search(embedding.i8(V), $v)", {"v": [0.5, 0.1, 0.2, 0.3, 0.4, 0.5]},
     "quantize float vectors with VectorQuantizer"),
    ("from Items where vector.search(V, embedding.forDoc($id))", {"id": 5}, "needs a document id"),
    ("from @all_docs where vector.search(V, $v)", {"v": [1, 0, 0]}, "collection query"),
])
def test_query_errors_say_what_to_do(database: DatabaseServices, rql: str, parameters: dict[str, Any],
                                     message: str) -> None:
    put_all(database, [("items/1", {"V": [1, 0, 0]})])
    with pytest.raises(InvalidQueryError, match=message):
        query(database, rql, **parameters)


def test_recall_through_rql(database: DatabaseServices) -> None:
    rng = np.random.default_rng(20261124)
    points = clustered(rng, 4100, 128, 80)
    base, queries = points[:4000], points[4000:]
    put_all(database, [(f"items/{i}", {"V": row.tolist()}) for i, row in enumerate(base)])
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :10]

    def recall(clause: str) -> float:
        found = 0
        for row, vector in enumerate(queries):
            result = query(database, f"from Items where {clause}", page_size=10, v=vector.tolist())
            found += len({int(doc_id.split("/")[1]) for doc_id in ids(result)} & set(truth[row].tolist()))
        return found / (10 * len(queries))

    assert recall("exact(vector.search(V, $v))") == 1.0
    assert recall("vector.search(V, $v)") >= 0.95
    assert recall("vector.search(embedding.f32_i8(V), $v)") >= 0.99 * recall("exact(vector.search(V, $v))")


# ---- tasks -----------------------------------------------------------------------------------------


def add_embedded_task(database: DatabaseServices, identifier: str = "names", collection: str = "Items",
                      path: str = "Name") -> EmbeddingsGenerationConfiguration:
    connection_string = AiConnectionString("Local", "local", "TextEmbeddings", EmbeddedSettings())
    if database.ai.connection_string("Local") is None:
        database.ai.put_connection_string(render_connection_string(connection_string))
    task = EmbeddingsGenerationConfiguration(
        name=f"Embed {identifier}", identifier=identifier, connection_string_name="Local", collection=collection,
        embeddings_path_configurations=(EmbeddingPathConfiguration(path, ChunkingOptions()),))
    return database.ai.add_task(render_task_configuration(task)).task


def test_task_field_uses_the_tasks_embeddings(database: DatabaseServices) -> None:
    put_all(database, [("items/1", {"Name": "Mozzarella di Giovanni"}), ("items/2", {"Name": "Outback Lager"}),
                       ("items/3", {"Name": "Ravioli Angelo"})])
    add_embedded_task(database)
    rql = "from Items where vector.search(embedding.text(Name, ai.task('names')), $t)"
    for _ in range(int(WAIT * 10)):
        result = query(database, rql, t="italian pasta and cheese")
        if len(result.results) == 3:
            break
        threading.Event().wait(0.1)  # the task embeds in the background
    assert result.index_name == "Auto/Items/ByVector.search(embedding.text(Name|ai.task('names')))"
    assert ids(result)[-1] == "items/2"
    assert [name for name in database.database.storage.collection_counts() if name.startswith("@embeddings")]


def test_task_errors(database: DatabaseServices) -> None:
    put_all(database, [("items/1", {"Name": "x"})])
    task = add_embedded_task(database)
    with pytest.raises(InvalidQueryError, match=r"no embeddings generation task with that identifier \(tasks: 'names'"):
        query(database, "from Items where vector.search(embedding.text(Name, ai.task('nope')), 'x')")
    with pytest.raises(InvalidQueryError, match="embeds Name of Items, not Title"):
        query(database, "from Items where vector.search(embedding.text(Title, ai.task('names')), 'x')")
    with pytest.raises(InvalidQueryError, match="embeds documents of 'Items', not 'Products'"):
        query(database, "from Products where vector.search(embedding.text(Name, ai.task('names')), 'x')")
    database.ai.set_task_disabled(task, True)
    with pytest.raises(InvalidQueryError, match="is disabled; enable it"):
        query(database, "from Items where vector.search(embedding.text(Name, ai.task('names')), 'x')")
    assert not database.vectors.indexes.definitions()  # no index for queries that cannot run


# ---- staleness and restarts -------------------------------------------------------------------------


class GatedModel:
    """The embedded model behind a gate: indexing stalls until the test opens it."""

    def __init__(self, model: EmbeddedModel) -> None:
        self.model = model
        self.gate = threading.Event()
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.gate.wait(WAIT)
        self.texts += len(texts)
        return self.model.embed(texts)


def test_stale_until_indexed_and_waiting_is_bounded(tmp_path: Path, model: EmbeddedModel) -> None:
    gated = GatedModel(model)
    catalog = DatabaseCatalog(tmp_path, Settings(), embedded_model=gated)  # type: ignore[arg-type]
    database = catalog.create("gated")
    try:
        put_all(database, [(f"items/{n}", {"Name": f"product {n}"}) for n in range(10)])
        rql = "from Items where vector.search(embedding.text(Name), $t)"
        early = run_query(database.database, rql, {"t": [0.0] * 383 + [1.0]}, wait_for_non_stale=0.2,
                          vectors=database.vectors)
        assert early.is_stale and early.results == []
        gated.gate.set()
        late = run_query(database.database, rql, {"t": [0.0] * 383 + [1.0]}, wait_for_non_stale=WAIT,
                         vectors=database.vectors)
        assert not late.is_stale and len(late.results) == 10
        listed = database.vectors.describe()[0]
        assert (listed["IsStale"], listed["EntriesCount"]) == (False, 10)
    finally:
        catalog.close()


def test_restart_resumes_without_rebuilding(tmp_path: Path, model: EmbeddedModel) -> None:
    catalog = DatabaseCatalog(tmp_path, Settings())
    database = catalog.create("again")
    put_all(database, [(f"items/{n}", {"Name": f"product {n}"}) for n in range(30)])
    before = query(database, "from Items where vector.search(embedding.text(Name), 'product 7')")
    catalog.close()

    catalog = DatabaseCatalog(tmp_path, Settings())
    try:
        database = catalog.get("again")
        service = database.vectors
        definition = service.indexes.definitions()[0]
        assert not service.indexes.is_stale(definition)  # resumed from the saved checkpoint
        field = service.indexes.field(definition.vector_fields[0])
        assert field.document_count == 30
        after = run_query(database.database, "from Items where vector.search(embedding.text(Name), 'product 7')", {},
                          vectors=database.vectors)
        assert ids(after) == ids(before) and not after.is_stale
        database.database.put("items/new", {"Name": "product seven", "@metadata": {"@collection": "Items"}})
        assert "items/new" in ids(query(database, "from Items where vector.search(embedding.text(Name), 'product 7')"))
    finally:
        catalog.close()


def test_order_by_score_can_be_turned_off(tmp_path: Path) -> None:
    catalog = DatabaseCatalog(tmp_path, Settings({"Indexing.Corax.VectorSearch.OrderByScoreAutomatically": False}))
    try:
        database = catalog.create("unordered")
        put_all(database, [("items/1", {"V": [0, 1]}), ("items/2", {"V": [1, 0]}), ("items/3", {"V": [1, 1]})])
        result = query(database, "from Items where vector.search(V, $v) and id() != 'items/9'", v=[1, 0])
        assert ids(result) == ["items/1", "items/2", "items/3"]  # document order
        assert scores(result) == pytest.approx([0.0, 1.0, 0.5**0.5])  # filters add nothing to the similarity
    finally:
        catalog.close()


def test_id_projection_keeps_the_ids_spelling(database: DatabaseServices) -> None:
    put_all(database, [("Items/A-1", {"V": [1, 0]}), ("Items/B-2", {"V": [0.8, 0.2]})])
    result = query(database, "from Items where vector.search(V, $v) select id() as Key", v=[1, 0])
    assert [row["Key"] for row in result.results] == ["Items/A-1", "Items/B-2"]
    assert result.results[0]["@metadata"] == {"@id": "Items/A-1", "@projection": True, "@collection": "Items",
                                              "@index-score": pytest.approx(1.0)}
    assert ids(query(database, "from Items where vector.search(V, $v)", v=[1, 0])) == ["Items/A-1", "Items/B-2"]


def test_static_indexes_do_not_exist(database: DatabaseServices) -> None:
    from rookdb.errors import IndexNotFoundError

    with pytest.raises(IndexNotFoundError):
        query(database, "from index 'Products/ByVector' where vector.search(VectorFromText, $t)", t="x")
