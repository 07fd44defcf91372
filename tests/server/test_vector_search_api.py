"""Vector search through the official client against a real server: every client method, Northwind with
the embedded model, tasks with the local embedding server, staleness, the index listing and errors."""

from __future__ import annotations

import base64
import itertools
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from ravendb import DocumentStore
from ravendb.documents.indexes.vector.embedding import VectorEmbeddingType
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.documents.operations.indexes import GetIndexesOperation
from ravendb.documents.operations.ongoing_tasks import OngoingTaskType, ToggleOngoingTaskStateOperation
from ravendb.documents.queries.vector import VectorQuantizer
from ravendb.documents.session.query import DocumentQuery
from ravendb.exceptions.raven_exceptions import RavenException

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.northwind import NORTHWIND_JSON
from tests.support.stores import StoreFactory
from tests.support.waiting import wait_for

API_KEY = EMBEDDING_API_KEY
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_numbers = itertools.count(1)


class Product:
    def __init__(self, Name: str = "", PricePerUnit: float = 0.0) -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit



def northwind_products() -> list[dict[str, Any]]:
    import json

    documents: list[dict[str, Any]] = json.loads(NORTHWIND_JSON.read_text())
    return [doc for doc in documents if doc["@metadata"]["@collection"] == "Products"]


def ranking(text: str) -> list[tuple[str, float]]:
    """Products ranked by cosine similarity of their names, computed here with the embedded model."""
    model = get_embedded_model()
    products = northwind_products()
    similarities = model.embed([doc["Name"] for doc in products]) @ model.embed([text])[0]
    ranked = sorted(zip(products, similarities.tolist(), strict=True), key=lambda pair: -pair[1])
    return [(doc["@metadata"]["@id"], score) for doc, score in ranked]


def run(query: DocumentQuery[Any]) -> list[dict[str, Any]]:
    return list(query)


def doc_ids(results: list[dict[str, Any]]) -> list[str]:
    return [item["@metadata"]["@id"] for item in results]


def index_scores(results: list[dict[str, Any]]) -> list[float]:
    return [item["@metadata"]["@index-score"] for item in results]


# ---- Northwind with the embedded model --------------------------------------------------------------


def test_italian_food_over_northwind(northwind: DocumentStore) -> None:
    expected = ranking("italian food")
    stats: list[Any] = []
    with northwind.open_session() as session:
        results = run(session.query_collection("Products", dict).vector_search_text("Name", "italian food")
                      .statistics(stats.append))
        exact = run(session.query_collection("Products", dict).vector_search_text("Name", "italian food",
                                                                                   is_exact=True))
    assert doc_ids(results) == doc_ids(exact) == [doc_id for doc_id, _ in expected[:16]]
    assert index_scores(results) == pytest.approx([score for _, score in expected[:16]], abs=1e-4)
    names = [item["Name"] for item in results]
    assert names[0] == "Mozzarella di Giovanni"
    assert {"Ravioli Angelo", "Gorgonzola Telino", "Gnocchi di nonna Alice", "Mascarpone Fabioli"} <= set(names[:10])
    assert stats[0].index_name == "Auto/Products/ByVector.search(embedding.text(Name))"
    assert not stats[0].is_stale


def test_filters_subclauses_similarity_and_paging(northwind: DocumentStore) -> None:
    prices = {doc["@metadata"]["@id"]: doc["PricePerUnit"] for doc in northwind_products()}
    stats: list[Any] = []
    with northwind.open_session() as session:
        filtered = run(session.query_collection("Products", dict)
                       .vector_search_text("Name", "italian food", minimum_similarity=0.6, number_of_candidates=16)
                       .where_greater_than("PricePerUnit", 35).statistics(stats.append))
        either = run(session.query_collection("Products", dict).open_subclause()
                     .vector_search_text("Name", "beer", number_of_candidates=3).close_subclause().or_else()
                     .open_subclause().vector_search_text("Name", "cheese", number_of_candidates=3).close_subclause())
        page = run(session.query_collection("Products", dict).vector_search_text("Name", "tea").skip(4).take(4))
        everything = run(session.query_collection("Products", dict).vector_search_text("Name", "tea"))
    assert stats[0].index_name == "Auto/Products/ByPricePerUnitAndVector.search(embedding.text(Name))"
    wanted = [doc_id for doc_id, score in ranking("italian food") if prices[doc_id] > 35 and score >= 0.2 - 1e-6]
    assert doc_ids(filtered) == wanted[:16] and wanted
    assert len(either) == 6
    assert doc_ids(page) == doc_ids(everything)[4:8]


def test_raw_query_with_parameters_and_for_doc(northwind: DocumentStore) -> None:
    with northwind.open_session() as session:
        raw = run(session.advanced.raw_query(
            "from Products where vector.search(embedding.text(Name), $term, 0.6, 20) "
            "order by PricePerUnit as double desc", dict).add_parameter("term", "italian food"))
        similar = run(session.advanced.raw_query(
            "from Products where vector.search(embedding.text(Name), embedding.forDoc($id))", dict)
            .add_parameter("id", "products/72-A"))
    prices = [item["PricePerUnit"] for item in raw]
    assert prices == sorted(prices, reverse=True) and len(raw) == 20  # explicit order by wins
    assert doc_ids(similar)[0] == "products/72-A"  # Mozzarella itself comes first


def test_for_document_hits_the_client_bug_with_a_clear_message(northwind: DocumentStore) -> None:
    with northwind.open_session() as session, pytest.raises(RavenException) as raised:
        run(session.query_collection("Products", dict).vector_search_text_for_document("Name", "products/7-A"))
    assert "null document id" in str(raised.value) and "raw_query" in str(raised.value)


# ---- every client method on numeric fields -------------------------------------------------------------


@pytest.fixture(scope="module")
def items(server: BackgroundServer) -> Iterator[tuple[DocumentStore, np.ndarray]]:
    """Forty documents holding one random vector in every stored form."""
    from ravendb.serverwide.database_record import DatabaseRecord
    from ravendb.serverwide.operations.common import CreateDatabaseOperation

    name = f"vectors{next(_numbers)}"
    store = DocumentStore(urls=[server.url], database=name)
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(name)))
    vectors = np.random.default_rng(11).standard_normal((40, 24)).astype(np.float32)
    with store.bulk_insert() as bulk:
        for number, vector in enumerate(vectors):
            floats = vector.tolist()
            bulk.store_as({"Raw": floats, "Encoded": base64.b64encode(vector.astype("<f4").tobytes()).decode(),
                           "I8": VectorQuantizer.to_int8(floats), "I1": VectorQuantizer.to_int1(floats),
                           "Name": f"item number {number}"}, f"items/{number}",
                          metadata={"@collection": "Items"})
    yield store, vectors
    store.close()


def test_every_client_method(items: tuple[DocumentStore, np.ndarray]) -> None:
    store, vectors = items
    floats = vectors[7].tolist()
    encoded = base64.b64encode(vectors[7].astype("<f4").tobytes()).decode()
    methods: dict[str, Callable[[DocumentQuery[Any]], DocumentQuery[Any]]] = {
        "vector_search": lambda q: q.vector_search("Raw", floats),
        "vector_search base64": lambda q: q.vector_search("Encoded", encoded),
        "vector_search is_exact": lambda q: q.vector_search("Raw", floats, is_exact=True),
        "vector_search int8": lambda q: q.vector_search("Raw", floats, target_quantization=VectorEmbeddingType.INT8),
        "vector_search_f32_i8": lambda q: q.vector_search_f32_i8("Raw", floats),
        "vector_search_f32_i1": lambda q: q.vector_search_f32_i1("Raw", floats),
        "vector_search_i8": lambda q: q.vector_search_i8("I8", VectorQuantizer.to_int8(floats)),
        "vector_search_i1": lambda q: q.vector_search_i1("I1", VectorQuantizer.to_int1(floats)),
        "vector_search_text": lambda q: q.vector_search_text("Name", "item number 7"),
        "vector_search_text_i8": lambda q: q.vector_search_text_i8("Name", "item number 7"),
        "vector_search_text_i1": lambda q: q.vector_search_text_i1("Name", "item number 7", number_of_candidates=40),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the f32_* spellings are deprecated client-side
        for label, method in methods.items():
            with store.open_session() as session:
                results = run(method(session.query_collection("Items", dict)))
            assert doc_ids(results)[0] == "items/7", label


def test_errors_reach_the_client(items: tuple[DocumentStore, np.ndarray]) -> None:
    store, _ = items
    cases = {
        "from Items where vector.search(Raw, $v)": ([1.0, 2.0], "has 2 dimensions but field 'Raw' has 24"),
        "from Items where vector.search(Raw, $v) ": (True, "is a boolean"),
        "from Items where vector.search(embedding.text(Name, ai.task('missing')), $v)": (
            "x", "no embeddings generation task"),
    }
    for rql, (value, message) in cases.items():
        with store.open_session() as session, pytest.raises(RavenException, match=message):
            run(session.advanced.raw_query(rql, dict).add_parameter("v", value))


def test_indexes_are_listed(items: tuple[DocumentStore, np.ndarray], server: BackgroundServer) -> None:
    store, vectors = items
    with store.open_session() as session:
        run(session.query_collection("Items", dict).vector_search("Raw", vectors[0].tolist()))
    definitions = store.maintenance.send(GetIndexesOperation(0, 100))
    assert "Auto/Items/ByVector.search(Raw)" in {definition.name for definition in definitions}
    listed = httpx.get(f"{server.url}/databases/{store.database}/indexes", timeout=30).json()["Results"]
    raw = next(index for index in listed if index["Name"] == "Auto/Items/ByVector.search(Raw)")
    assert (raw["Type"], raw["IsStale"], raw["EntriesCount"]) == ("AutoMap", False, 40)
    assert raw["Fields"]["Vector.search(Raw)"]["Vector"]["Dimensions"] == 24


# ---- staleness ------------------------------------------------------------------------------------------


def test_wait_for_non_stale_results(new_store: StoreFactory) -> None:
    store = new_store()
    with store.bulk_insert() as bulk:
        for number in range(300):
            bulk.store_as(Product(f"Product {number} with a longer name to embed", number), f"products/{number}")
    with store.open_session() as session:
        hurried = (session.query(object_type=Product).vector_search_text("Name", "product 7")
                   .wait_for_non_stale_results(timedelta(milliseconds=1)))
        with pytest.raises(TimeoutError):  # the client's answer to IsStale after asking to wait
            run(hurried)
    stats: list[Any] = []
    with store.open_session() as session:
        patient = run(session.query(object_type=Product).vector_search_text("Name", "product 7")
                      .wait_for_non_stale_results(timedelta(seconds=60)).statistics(stats.append))
    assert len(patient) == 16 and not stats[0].is_stale


def test_a_stale_answer_never_stands_for_a_later_one(new_store: StoreFactory, server: BackgroundServer) -> None:
    # The vector field catches up without a write, so neither the database's etag nor the index's moves:
    # a client holding the stale answer's ETag must still get the caught-up results, not a 304.
    store = new_store()
    with store.bulk_insert() as bulk:
        for number in range(100):
            bulk.store_as(Product(f"Product {number} with a longer name to embed", number), f"products/{number}")
    url = f"{server.url}/databases/{store.database}/queries"
    query = {"Query": "from Products where vector.search(embedding.text(Name), $t)", "QueryParameters": {"t": "x"}}
    # The first request embeds the search term, and the second may wait up to its minute: allow both.
    hurried = httpx.post(url, json={**query, "WaitForNonStaleResults": True,
                                    "WaitForNonStaleResultsTimeout": "00:00:00.0010000"}, timeout=90)
    assert hurried.json()["IsStale"]  # it created the vector index, which cannot have caught up in 1 ms
    caught_up = httpx.post(url, json={**query, "WaitForNonStaleResults": True,
                                      "WaitForNonStaleResultsTimeout": "00:01:00"}, timeout=90)
    assert not caught_up.json()["IsStale"] and caught_up.headers["ETag"] != hurried.headers["ETag"]
    again = httpx.post(url, json=query, headers={"If-None-Match": hurried.headers["ETag"]})
    assert again.status_code == 200 and again.json()["TotalResults"] == caught_up.json()["TotalResults"] > 0
    repeated = httpx.post(url, json=query, headers={"If-None-Match": caught_up.headers["ETag"]})
    assert repeated.status_code == 304


# ---- tasks ------------------------------------------------------------------------------------------------


def tei_calls(srv: EmbeddingServer) -> int:
    stats = srv.stats().get("tei-embed")
    return stats.requests if stats else 0


def test_task_search_embeds_each_query_once(new_store: StoreFactory, embedding_server: EmbeddingServer) -> None:
    store = new_store()
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Local HF", "local-hf", model_type=AiModelType.TEXT_EMBEDDINGS,
        huggingface_settings=HuggingFaceSettings(API_KEY, MODEL, embedding_server.url))))
    with store.bulk_insert() as bulk:
        for doc in northwind_products()[:30]:
            bulk.store_as(Product(doc["Name"], doc["PricePerUnit"]), doc["@metadata"]["@id"])
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(EmbeddingsGenerationConfiguration(
        name="Names", identifier="names", connection_string_name="Local HF", collection="Products",
        embeddings_path_configurations=[EmbeddingPathConfiguration(
            "Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048))],
        chunking_options_for_querying=ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048))))

    def search(text: str, **options: Any) -> list[dict[str, Any]]:
        with store.open_session() as session:
            return run(session.query_collection("Products", dict).vector_search_text(
                "Name", text, embedding_generation_task_identifier="names", number_of_candidates=30, **options))

    wait_for(lambda: len(search("warm up")) == 30, what="the task's embeddings to be indexed")
    before = tei_calls(embedding_server)
    first = search("italian cheese")
    assert tei_calls(embedding_server) == before + 1
    again = search("italian cheese")
    with store.open_session() as session, pytest.warns(DeprecationWarning):
        deprecated = run(session.query_collection("Products", dict).vector_search_text_using_task(
            "Name", "italian cheese", "names", number_of_candidates=30))
    assert tei_calls(embedding_server) == before + 1  # the repeated query came from @embeddings-cache
    assert doc_ids(first) == doc_ids(again) == doc_ids(deprecated)
    for quantization in (VectorEmbeddingType.INT8, VectorEmbeddingType.BINARY):
        quantized = search("italian cheese", target_quantization=quantization)
        assert len(set(doc_ids(quantized)[:5]) & set(doc_ids(first)[:10])) >= 4, quantization
    names = {index.name for index in store.maintenance.send(GetIndexesOperation(0, 100))}
    assert {"Auto/Products/ByVector.search(embedding.text(Name|ai.task('names')))",
            "Auto/Products/ByVector.search(embedding.text_i8(Name|ai.task('names')))",
            "Auto/Products/ByVector.search(embedding.text_i1(Name|ai.task('names')))"} <= names
    assert tei_calls(embedding_server) == before + 1
    with store.open_session() as session:
        cached = session.advanced.raw_query("from '@embeddings-cache'", dict)
        assert len(list(cached)) >= 2  # "warm up" and "italian cheese"

    store.maintenance.send(ToggleOngoingTaskStateOperation(added.task_id, OngoingTaskType.EMBEDDINGS_GENERATION,
                                                            True))
    with pytest.raises(RavenException, match="is disabled; enable it"):
        search("italian cheese")
