"""Vector search using a static index, through the official Python client: every sample of RavenDB's
"Vector search using a static index" page (LINQ, JavaScript and IndexDefinition forms), with
``CreateVector`` over text, float32 and Int8 arrays and Base64, ``LoadVector`` over a task's embeddings
(the document's own and a related document's), ``embedding.forDoc``, ``ai.task`` search terms, indexes
mixing regular, full-text and vector fields, and the errors RavenDB gives."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ravendb import DocumentStore
from ravendb.documents.indexes.abstract_index_creation_tasks import (
    AbstractIndexCreationTask,
    AbstractJavaScriptIndexCreationTask,
)
from ravendb.documents.indexes.definitions import FieldIndexing, IndexDefinition, IndexFieldOptions, SearchEngineType
from ravendb.documents.indexes.vector.embedding import VectorEmbeddingType
from ravendb.documents.indexes.vector.options import VectorOptions
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
from ravendb.documents.operations.indexes import (
    DeleteIndexOperation,
    GetIndexErrorsOperation,
    PutIndexesOperation,
    ResetIndexOperation,
)
from ravendb.documents.operations.ongoing_tasks import OngoingTaskType, ToggleOngoingTaskStateOperation
from ravendb.documents.queries.vector import VectorQuantizer
from ravendb.exceptions.raven_exceptions import RavenException

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.northwind import NORTHWIND_JSON
from tests.support.stores import StoreFactory, open_store
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Product:
    def __init__(self, Name: str = "", PricePerUnit: float = 0.0, Category: str = "") -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit
        self.Category = Category


class Category:
    def __init__(self, Name: str = "") -> None:
        self.Name = Name


class Movie:
    def __init__(self, Title: str = "", tags_embedded_as_single: Any = None, tags_embedded_as_int8: Any = None,
                 movie_photo_embedding: Any = None, photo_base64: str | None = None) -> None:
        self.Title = Title
        self.tags_embedded_as_single = tags_embedded_as_single
        self.tags_embedded_as_int8 = tags_embedded_as_int8
        self.movie_photo_embedding = movie_photo_embedding
        self.photo_base64 = photo_base64


# ---- the page's index classes ------------------------------------------------------------------------


class Products_ByVector_Text(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from p in docs.Products select new { vector_from_text = CreateVector(p.Name) }"
        self._vector("vector_from_text", VectorOptions(VectorEmbeddingType.TEXT, VectorEmbeddingType.SINGLE,
                                                       number_of_edges=20, number_of_candidates_for_indexing=20))
        self.search_engine_type = SearchEngineType.CORAX


class Products_ByVector_Text_JS(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {"map('Products', function (p) { return { vector_from_text: createVector(p.Name) }; })"}
        self.fields = {"vector_from_text": IndexFieldOptions(vector=VectorOptions(
            VectorEmbeddingType.TEXT, VectorEmbeddingType.SINGLE, number_of_edges=20,
            number_of_candidates_for_indexing=20))}
        self.search_engine_type = SearchEngineType.CORAX


class Movies_ByVector_Single(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from m in docs.Movies select new { vector_from_single = CreateVector(m.tags_embedded_as_single) }"
        self._vector("vector_from_single", VectorOptions(
            source_embedding_type=VectorEmbeddingType.SINGLE, destination_embedding_type=VectorEmbeddingType.SINGLE,
            dimensions=2, number_of_edges=20, number_of_candidates_for_indexing=20))
        self.search_engine_type = SearchEngineType.CORAX


class Movies_ByVector_Int8_JS(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {"map('Movies', function (m) { return { vector_from_int8_arrays: "
                     "createVector(m.tags_embedded_as_int8) }; })"}
        self.fields = {"vector_from_int8_arrays": IndexFieldOptions(vector=VectorOptions(
            source_embedding_type=VectorEmbeddingType.INT8, destination_embedding_type=VectorEmbeddingType.INT8,
            dimensions=2, number_of_edges=20, number_of_candidates_for_indexing=20))}
        self.search_engine_type = SearchEngineType.CORAX


class Movies_ByVectorFromPhoto(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from m in docs.Movies select new { vector_from_photo = CreateVector(m.movie_photo_embedding) }"
        self._vector("vector_from_photo", VectorOptions(
            source_embedding_type=VectorEmbeddingType.SINGLE, destination_embedding_type=VectorEmbeddingType.SINGLE,
            dimensions=384))
        self.search_engine_type = SearchEngineType.CORAX


class Products_ByMultipleFields_JS(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {"map('Products', function (p) { return { price_per_unit: p.PricePerUnit, name: p.Name, "
                     "vector_from_text: createVector(p.Name) }; })"}
        self.fields = {"name": IndexFieldOptions(indexing=FieldIndexing.SEARCH)}
        self.search_engine_type = SearchEngineType.CORAX


class Categories_ByPreMadeTextEmbeddings(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = ('from c in docs.Categories select new { vector_from_text_embeddings = '
                    'LoadVector("Name", "id-for-task-open-ai") }')
        self._vector("vector_from_text_embeddings", VectorOptions())
        self.search_engine_type = SearchEngineType.CORAX


class Products_ByCategoryEmbeddings(AbstractIndexCreationTask):
    """LoadVector of a related document: the product is found by its category's embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.map = ('from p in docs.Products let c = LoadDocument(p.Category, "Categories") select new { '
                    'category_vector = LoadVector("Name", "id-for-task-open-ai", c) }')
        self.search_engine_type = SearchEngineType.CORAX


# ---- helpers ----------------------------------------------------------------------------------------


def northwind(collection: str) -> list[dict[str, Any]]:
    import json

    documents: list[dict[str, Any]] = json.loads(NORTHWIND_JSON.read_text())
    return [doc for doc in documents if doc["@metadata"]["@collection"] == collection]


def store_products(store: DocumentStore) -> None:
    with store.bulk_insert() as bulk:
        for doc in northwind("Products"):
            bulk.store_as(Product(doc["Name"], doc["PricePerUnit"], doc["Category"]), doc["@metadata"]["@id"])


def query(store: DocumentStore, rql: str, **parameters: Any) -> list[dict[str, Any]]:
    with store.open_session() as session:
        found = session.advanced.raw_query(rql, dict).wait_for_non_stale_results()
        for name, value in parameters.items():
            found = found.add_parameter(name, value)
        return list(found)


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [result["@metadata"]["@id"] for result in results]


def text_ranking(names: dict[str, str], text: str) -> list[tuple[str, float]]:
    """Documents ranked by cosine similarity of their texts to ``text``, computed here with the model
    (RavenDB's minimum similarity ``s`` keeps cosine similarities of at least ``2s - 1``)."""
    model = get_embedded_model()
    similarities = model.embed(list(names.values())) @ model.embed([text])[0]
    return sorted(zip(names, similarities.tolist(), strict=True), key=lambda pair: -pair[1])


def movies(store: DocumentStore) -> dict[str, np.ndarray]:
    """The page's sample movies, with photo embeddings made by the embedded model from a caption."""
    captions = {"movies/1": "astronauts on a rocket to the moon", "movies/2": "a dog in a garden",
                "movies/3": "the space station orbiting earth"}
    photos = get_embedded_model().embed(list(captions.values()))
    with store.open_session() as session:
        session.store(Movie("Hidden Figures", [6.6, 7.7], VectorQuantizer.to_int8([0.1, 0.2]),
                            photos[0].tolist()), "movies/1")
        session.store(Movie("The Shawshank Redemption", [1.1, -2.2], VectorQuantizer.to_int8([0.9, -0.1]),
                            photos[1].tolist()), "movies/2")
        session.store(Movie("Apollo 13", [6.0, 8.0], VectorQuantizer.to_int8([0.12, 0.2]),
                            photos[2].tolist()), "movies/3")
        session.save_changes()
    return dict(zip(captions, photos, strict=True))


def add_task(store: DocumentStore, server: EmbeddingServer, collection: str) -> int:
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "ConnectionStringToOpenAI", "id-for-open-ai-connection-string", model_type=AiModelType.TEXT_EMBEDDINGS,
        huggingface_settings=HuggingFaceSettings(EMBEDDING_API_KEY, MODEL, server.url))))
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(EmbeddingsGenerationConfiguration(
        name="GetEmbeddingsFromOpenAI", identifier="id-for-task-open-ai",
        connection_string_name="ConnectionStringToOpenAI", collection=collection,
        embeddings_path_configurations=[EmbeddingPathConfiguration(
            "Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048))],
        chunking_options_for_querying=ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048))))
    return int(added.task_id)


# ---- text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [Products_ByVector_Text, Products_ByVector_Text_JS])
def test_indexing_raw_text(new_store: StoreFactory, index: Callable[[], AbstractIndexCreationTask]) -> None:
    store = new_store()
    store_products(store)
    created = index()
    created.execute(store)
    name = created.index_name
    names = {doc["@metadata"]["@id"]: doc["Name"] for doc in northwind("Products")}
    expected = [doc_id for doc_id, score in text_ranking(names, "italian food") if score >= 0.3][:20]
    found = query(store, f"from index '{name}' where exact(vector.search(vector_from_text, $searchTerm, 0.65, 20))",
                  searchTerm="italian food")
    assert ids(found) == expected and len(expected) >= 3
    assert {"Mozzarella di Giovanni", "Ravioli Angelo"} <= {result["Name"] for result in found}
    approximate = query(store, f"from index '{name}' where vector.search(vector_from_text, $searchTerm, 0.65, 20)",
                        searchTerm="italian food")
    assert set(ids(approximate)) == set(expected)
    similar = query(store, f"from index '{name}' where vector.search(vector_from_text, embedding.forDoc($documentID), "
                           "0.82)", documentID="products/7-A")
    assert ids(similar)[0] == "products/7-A"
    assert ids(similar) == [doc_id for doc_id, score in text_ranking(
        names, names["products/7-A"]) if score >= 0.64][:16]


def test_vectors_follow_updates_and_deletes(new_store: StoreFactory) -> None:
    store = new_store()
    store_products(store)
    Products_ByVector_Text().execute(store)

    def best(text: str) -> str:
        return ids(query(store, "from index 'Products/ByVector/Text' where vector.search(vector_from_text, $t)",
                         t=text))[0]

    assert best("italian food") == "products/72-A"  # Mozzarella di Giovanni
    with store.open_session() as session:
        session.load("products/1-A", Product).Name = "Spaghetti alla carbonara from Rome"
        session.delete("products/72-A")
        session.save_changes()
    assert best("spaghetti carbonara") == "products/1-A"
    assert "products/72-A" not in ids(query(
        store, "from index 'Products/ByVector/Text' where vector.search(vector_from_text, $t, 0, 100)",
        t="mozzarella"))


# ---- numbers ------------------------------------------------------------------------------------------


def test_indexing_numeric_data_and_querying_with_numbers(new_store: StoreFactory) -> None:
    store = new_store()
    movies(store)
    Movies_ByVector_Single().execute(store)
    Movies_ByVector_Int8_JS().execute(store)
    found = query(store, "from index 'Movies/ByVector/Single' where vector.search(vector_from_single, $queryVector)",
                  queryVector=[6.599999904632568, 7.699999809265137])
    assert ids(found)[:2] == ["movies/1", "movies/3"]
    as_raven_vector = query(store, "from index 'Movies/ByVector/Single' where vector.search(vector_from_single, "
                                   "$queryVector, 0.99)", queryVector={"@vector": [6.6, 7.7]})
    assert ids(as_raven_vector) == ["movies/1", "movies/3"]
    encoded = base64.b64encode(np.asarray([6.6, 7.7], dtype="<f4").tobytes()).decode()
    assert ids(query(store, "from index 'Movies/ByVector/Single' where vector.search(vector_from_single, $q, 0.99)",
                     q=encoded)) == ["movies/1", "movies/3"]
    int8 = query(store, "from index 'Movies/ByVector/Int8/JS' where "
                        "vector.search(vector_from_int8_arrays, $queryVector, 0.99)",
                 queryVector=VectorQuantizer.to_int8([0.1, 0.2]))
    assert ids(int8) == ["movies/1", "movies/3"]


def saved_graphs(tmp_path: Path, database: str) -> dict[str, tuple[int, int]]:
    """Each saved graph manifest under the database's indexes: its generation and modification time."""
    folder = tmp_path / "databases" / database / "indexes"
    return {str(path.relative_to(folder)): (json.loads(path.read_bytes())["generation"], path.stat().st_mtime_ns)
            for path in folder.glob("*.saved/*.manifest.json")}


def test_a_restart_loads_the_saved_graph_reset_and_delete_remove_it(tmp_path: Path) -> None:
    search = "from index 'Movies/ByVector/Single' where vector.search(vector_from_single, $q)"
    with BackgroundServer(tmp_path) as first:
        store = open_store(first.url, "Graphs")
        movies(store)
        Movies_ByVector_Single().execute(store)
        before = ids(query(store, search, q=[6.6, 7.7]))
        store.close()
    saved = saved_graphs(tmp_path, "Graphs")
    assert before[:2] == ["movies/1", "movies/3"] and len(saved) == 1
    with BackgroundServer(tmp_path) as second:
        store = DocumentStore(urls=[second.url], database="Graphs")
        store.initialize()
        assert ids(query(store, search, q=[6.6, 7.7])) == before
        store.close()
    assert saved_graphs(tmp_path, "Graphs") == saved  # loaded as saved: a rebuilt graph is saved at the stop
    with BackgroundServer(tmp_path) as third:
        store = DocumentStore(urls=[third.url], database="Graphs")
        store.initialize()
        store.maintenance.send(ResetIndexOperation("Movies/ByVector/Single"))
        assert saved_graphs(tmp_path, "Graphs") != saved  # gone, or a new one for the rebuilt index
        assert ids(query(store, search, q=[6.6, 7.7])) == before
        store.maintenance.send(DeleteIndexOperation("Movies/ByVector/Single"))
        wait_for(lambda: not saved_graphs(tmp_path, "Graphs"), what="the deleted index's graph to go")
        store.close()
    assert not list((tmp_path / "databases" / "Graphs" / "indexes").iterdir())


def test_dimensions_are_enforced(new_store: StoreFactory) -> None:
    store = new_store()
    movies(store)
    with store.open_session() as session:
        session.store(Movie("Odd", [1.0, 2.0, 3.0]), "movies/4")
        session.save_changes()
    Movies_ByVector_Single().execute(store)
    query(store, "from index 'Movies/ByVector/Single'")
    errors = store.maintenance.send(GetIndexErrorsOperation("Movies/ByVector/Single"))[0].errors
    assert [error.document for error in errors] == ["movies/4"]
    assert "3 dimensions" in errors[0].error and "has 2" in errors[0].error
    with pytest.raises(RavenException, match="3 dimensions but field 'vector_from_single' has 2"):
        query(store, "from index 'Movies/ByVector/Single' where vector.search(vector_from_single, $q)",
              q=[1.0, 2.0, 3.0])
    with pytest.raises(RavenException, match="holds numeric vectors"):
        query(store, "from index 'Movies/ByVector/Single' where vector.search(vector_from_single, $q)",
              q="a sad story")
    with pytest.raises(RavenException, match="not a vector field of index"):
        query(store, "from index 'Movies/ByVector/Single' where vector.search(Title, $q)", q=[1.0, 2.0])


def test_numeric_field_queried_by_text_through_a_task(new_store: StoreFactory,
                                                      embedding_server: EmbeddingServer) -> None:
    store = new_store()
    movies(store)
    task_id = add_task(store, embedding_server, "Categories")
    Movies_ByVectorFromPhoto().execute(store)
    rql = ("from index 'Movies/ByVectorFromPhoto' where vector.search(vector_from_photo, "
           "embedding.text($searchTerm, ai.task($embeddingTaskId)), 0.6, null)")
    found = query(store, rql, searchTerm="NASA space mission", embeddingTaskId="id-for-task-open-ai")
    assert ids(found)[:2] in (["movies/1", "movies/3"], ["movies/3", "movies/1"]) and "movies/2" not in ids(found)
    store.maintenance.send(ToggleOngoingTaskStateOperation(task_id, OngoingTaskType.EMBEDDINGS_GENERATION, True))
    with pytest.raises(RavenException, match="is disabled"):
        query(store, rql, searchTerm="NASA", embeddingTaskId="id-for-task-open-ai")
    with pytest.raises(RavenException, match=r"InvalidQueryException|no embeddings generation task"):
        query(store, rql, searchTerm="NASA", embeddingTaskId="no-such-task")


# ---- several kinds of fields ------------------------------------------------------------------------


def test_indexing_multiple_field_types(new_store: StoreFactory) -> None:
    store = new_store()
    store_products(store)
    store.maintenance.send(PutIndexesOperation(IndexDefinition(
        name="Products/ByMultipleFields",
        maps={"from product in docs.Products select new { price_per_unit = product.PricePerUnit, "
              "name = product.Name, vector_from_text = CreateVector(product.Name) }"},
        fields={"name": IndexFieldOptions(indexing=FieldIndexing.SEARCH)},
        configuration={"Indexing.Static.SearchEngineType": "Corax"})))
    found = query(store, "from index 'Products/ByMultipleFields' where price_per_unit > $minPrice or "
                         "search(name, $searchTerm1) or vector.search(vector_from_text, $searchTerm2, 0.8)",
                  minPrice=200, searchTerm1="Alice", searchTerm2="italian food")
    names = {result["Name"] for result in found}
    assert {"Côte de Blaye", "Gnocchi di nonna Alice", "Alice Mutton"} <= names
    expensive = {doc["Name"] for doc in northwind("Products") if doc["PricePerUnit"] > 200}
    assert expensive <= names
    both = query(store, "from index 'Products/ByMultipleFields' where price_per_unit < 20 and "
                        "vector.search(vector_from_text, 'cheese', 0.5)")
    assert both and all(result["PricePerUnit"] < 20 for result in both)
    Products_ByMultipleFields_JS().execute(store)
    same = query(store, "from index 'Products/ByMultipleFields/JS' where price_per_unit > $minPrice or "
                        "search(name, $searchTerm1) or vector.search(vector_from_text, $searchTerm2, 0.8)",
                 minPrice=200, searchTerm1="Alice", searchTerm2="italian food")
    assert ids(same) == ids(found)


# ---- a task's embeddings ------------------------------------------------------------------------------


def test_indexing_pre_made_text_embeddings(new_store: StoreFactory, embedding_server: EmbeddingServer) -> None:
    store = new_store()
    with store.open_session() as session:
        for doc in northwind("Categories"):
            session.store(Category(doc["Name"]), doc["@metadata"]["@id"])
        session.store(Product("Chai", 18, "categories/1-A"), "products/1-A")
        session.store(Product("Gumbo Mix", 21, "categories/2-A"), "products/5-A")
        session.store(Product("Teatime Chocolate Biscuits", 9, "categories/3-A"), "products/19-A")
        session.save_changes()
    task_id = add_task(store, embedding_server, "Categories")
    Categories_ByPreMadeTextEmbeddings().execute(store)
    Products_ByCategoryEmbeddings().execute(store)
    rql = ("from index 'Categories/ByPreMadeTextEmbeddings' "
           "where exact(vector.search(vector_from_text_embeddings, $searchTerm, 0.3, 20))")
    wait_for(lambda: len(query(store, rql, searchTerm="candy")) >= 1, what="the task's embeddings to be indexed")
    assert ids(query(store, rql, searchTerm="candy"))[0] == "categories/3-A"  # Confections
    related = ("from index 'Products/ByCategoryEmbeddings' "
               "where vector.search(category_vector, $searchTerm, 0.3)")
    assert ids(query(store, related, searchTerm="sweets and candy"))[0] == "products/19-A"
    with store.open_session() as session:  # the task embeds the new name; both indexes follow
        session.load("categories/3-A", Category).Name = "Spices and herbs"
        session.save_changes()
    wait_for(lambda: ids(query(store, rql, searchTerm="pepper and spice"))[:1] == ["categories/3-A"],
             what="the new embedding to be indexed")
    wait_for(lambda: ids(query(store, related, searchTerm="pepper and spice"))[:1] == ["products/19-A"],
             what="the related document's new embedding to be indexed")
    store.maintenance.send(ToggleOngoingTaskStateOperation(task_id, OngoingTaskType.EMBEDDINGS_GENERATION, True))
    with pytest.raises(RavenException, match="is disabled"):
        query(store, rql, searchTerm="candy")
